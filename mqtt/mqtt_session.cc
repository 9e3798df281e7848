#include "mqtt/mqtt_session.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace plantmon::mqtt {
namespace {

// Packet types (MQTT 3.1.1, section 2.2.1), in the high nibble.
constexpr uint8_t kConnect = 1;
constexpr uint8_t kConnack = 2;
constexpr uint8_t kPublish = 3;
constexpr uint8_t kPuback = 4;
constexpr uint8_t kSubscribe = 8;
constexpr uint8_t kSuback = 9;
constexpr uint8_t kPingreq = 12;
constexpr uint8_t kPingresp = 13;
constexpr uint8_t kDisconnect = 14;

// Above this a packet other than PUBLISH is a broken broker, not data.
constexpr size_t kMaxControlPacket = 64 * 1024;
// A PUBLISH's variable header: topic length, topic (at most 65,535 bytes),
// packet identifier.
constexpr size_t kMaxPublishHeader = 2 + 65535 + 2;

void AppendUint16(std::string& out, uint16_t value) {
  out.push_back(static_cast<char>(value >> 8));
  out.push_back(static_cast<char>(value & 0xff));
}

void AppendString(std::string& out, absl::string_view text) {
  AppendUint16(out, static_cast<uint16_t>(text.size()));
  out.append(text.data(), text.size());
}

std::string Packet(uint8_t first_byte, const std::string& body) {
  std::string packet(1, static_cast<char>(first_byte));
  size_t length = body.size();
  do {  // the Remaining Length's variable-length encoding (2.2.3)
    uint8_t digit = length % 128;
    length /= 128;
    if (length > 0) digit |= 0x80;
    packet.push_back(static_cast<char>(digit));
  } while (length > 0);
  return packet + body;
}

uint16_t ReadUint16(absl::string_view bytes, size_t at) {
  return static_cast<uint16_t>((static_cast<uint8_t>(bytes[at]) << 8) |
                               static_cast<uint8_t>(bytes[at + 1]));
}

absl::Status Lost(absl::string_view what) {
  return absl::UnavailableError(absl::StrCat("MQTT connection lost: ", what));
}

std::string PercentDecoded(absl::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    int value = 0;
    if (text[i] == '%' && i + 2 < text.size() &&
        absl::SimpleHexAtoi(text.substr(i + 1, 2), &value)) {
      out.push_back(static_cast<char>(value));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

// Connects to host:port within `timeout`; the socket is left non-blocking.
absl::StatusOr<int> ConnectSocket(const BrokerAddress& broker, absl::Duration timeout) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(broker.port);
  if (int rc = getaddrinfo(broker.host.c_str(), port.c_str(), &hints, &found); rc != 0) {
    return absl::UnavailableError(
        absl::StrCat("MQTT broker ", broker.host, ": ", gai_strerror(rc)));
  }
  std::string last_error = "no address";
  for (addrinfo* address = found; address != nullptr; address = address->ai_next) {
    int fd = socket(address->ai_family, address->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    address->ai_protocol);
    if (fd < 0) continue;
    int rc = connect(fd, address->ai_addr, address->ai_addrlen);
    if (rc != 0 && errno == EINPROGRESS) {
      pollfd waiting{fd, POLLOUT, 0};
      rc = poll(&waiting, 1, static_cast<int>(absl::ToInt64Milliseconds(timeout)));
      int error = 0;
      socklen_t size = sizeof(error);
      if (rc == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size) == 0 && error == 0) {
        rc = 0;
      } else {
        errno = rc == 0 ? ETIMEDOUT : error;
        rc = -1;
      }
    }
    if (rc == 0) {
      freeaddrinfo(found);
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      return fd;
    }
    last_error = std::strerror(errno);
    close(fd);
  }
  freeaddrinfo(found);
  return absl::UnavailableError(
      absl::StrCat("MQTT broker ", broker.host, ":", broker.port, ": ", last_error));
}

}  // namespace

absl::StatusOr<BrokerAddress> ParseBrokerUrl(absl::string_view url) {
  absl::string_view rest = url;
  if (!absl::ConsumePrefix(&rest, "mqtt://")) {
    return absl::InvalidArgumentError(absl::StrCat(
        "PLANTMON_MQTT_URL must look like mqtt://user:password@host:port, not \"", url, "\""));
  }
  BrokerAddress broker;
  if (size_t at = rest.rfind('@'); at != absl::string_view::npos) {
    absl::string_view credentials = rest.substr(0, at);
    rest.remove_prefix(at + 1);
    std::pair<absl::string_view, absl::string_view> parts =
        absl::StrSplit(credentials, absl::MaxSplits(':', 1));
    broker.username = PercentDecoded(parts.first);
    broker.password = PercentDecoded(parts.second);
  }
  absl::ConsumeSuffix(&rest, "/");
  if (size_t colon = rest.rfind(':'); colon != absl::string_view::npos) {
    if (!absl::SimpleAtoi(rest.substr(colon + 1), &broker.port) || broker.port <= 0 ||
        broker.port > 65535) {
      return absl::InvalidArgumentError(
          absl::StrCat("PLANTMON_MQTT_URL has a bad port: \"", rest.substr(colon + 1), "\""));
    }
    rest = rest.substr(0, colon);
  }
  if (rest.empty()) return absl::InvalidArgumentError("PLANTMON_MQTT_URL names no host");
  broker.host = std::string(rest);
  return broker;
}

absl::StatusOr<std::unique_ptr<MqttSession>> MqttSession::Connect(const BrokerAddress& broker,
                                                                  const SessionOptions& options) {
  if (options.client_id.empty() || options.client_id.size() > 65535) {
    return absl::InvalidArgumentError("an MQTT client id of 1-65535 bytes is required");
  }
  const absl::Time deadline = absl::Now() + options.connect_timeout;
  absl::StatusOr<int> fd = ConnectSocket(broker, options.connect_timeout);
  if (!fd.ok()) return fd.status();
  std::unique_ptr<MqttSession> session(new MqttSession(*fd, options));

  std::string body;
  AppendString(body, "MQTT");
  body.push_back(4);  // protocol level: 3.1.1
  uint8_t flags = options.clean_session ? 0x02 : 0;
  if (!broker.username.empty()) flags |= 0x80;
  if (!broker.password.empty()) flags |= 0x40;
  body.push_back(static_cast<char>(flags));
  AppendUint16(body, static_cast<uint16_t>(absl::ToInt64Seconds(options.keep_alive)));
  AppendString(body, options.client_id);
  if (!broker.username.empty()) AppendString(body, broker.username);
  if (!broker.password.empty()) AppendString(body, broker.password);
  if (absl::Status sent = session->Send(Packet(kConnect << 4, body)); !sent.ok()) return sent;

  // CONNACK is the first packet the broker sends (3.2).
  while (session->buffer_.size() < 4) {
    if (absl::Now() >= deadline) {
      return absl::UnavailableError("the MQTT broker did not answer CONNECT in time");
    }
    if (absl::Status read = session->Fill(deadline); !read.ok()) return read;
  }
  const absl::string_view reply = session->buffer_;
  if (static_cast<uint8_t>(reply[0]) >> 4 != kConnack || reply[1] != 2) {
    return absl::UnavailableError("the MQTT broker answered CONNECT with something else");
  }
  session->session_present_ = (reply[2] & 1) != 0;
  switch (static_cast<uint8_t>(reply[3])) {
    case 0:
      break;
    case 4:
    case 5:
      // Mosquitto answers a wrong password with 5 (not authorised), not 4.
      return absl::UnauthenticatedError(
          "the MQTT broker refused the user name and password (PLANTMON_MQTT_URL)");
    default:
      return absl::UnavailableError(absl::StrCat("the MQTT broker refused the connection (code ",
                                                 static_cast<int>(reply[3]), ")"));
  }
  session->buffer_.erase(0, 4);
  return session;
}

MqttSession::MqttSession(int fd, SessionOptions options)
    : fd_(fd), options_(std::move(options)), last_sent_(absl::Now()), last_received_(absl::Now()) {}

MqttSession::~MqttSession() {
  if (fd_ >= 0) close(fd_);
}

void MqttSession::Disconnect() {
  if (fd_ < 0) return;
  Send(Packet(kDisconnect << 4, "")).IgnoreError();
  close(fd_);
  fd_ = -1;
}

absl::Status MqttSession::Send(const std::string& packet) {
  if (fd_ < 0) return Lost("closed");
  size_t sent = 0;
  const absl::Time deadline = absl::Now() + options_.connect_timeout;
  while (sent < packet.size()) {
    ssize_t n = send(fd_, packet.data() + sent, packet.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      // The broker reads slowly; wait, but not for ever.
      const absl::Duration left = deadline - absl::Now();
      if (left <= absl::ZeroDuration()) return Lost("the broker stopped reading");
      pollfd waiting{fd_, POLLOUT, 0};
      poll(&waiting, 1, static_cast<int>(absl::ToInt64Milliseconds(left)) + 1);
      continue;
    }
    return Lost(std::strerror(errno));
  }
  last_sent_ = absl::Now();
  return absl::OkStatus();
}

absl::Status MqttSession::Fill(absl::Time deadline) {
  if (fd_ < 0) return Lost("closed");
  const absl::Duration left = std::max(deadline - absl::Now(), absl::ZeroDuration());
  pollfd waiting{fd_, POLLIN, 0};
  int ready = poll(&waiting, 1, static_cast<int>(absl::ToInt64Milliseconds(left)));
  if (ready < 0 && errno != EINTR) return Lost(std::strerror(errno));
  if (ready <= 0) return absl::OkStatus();
  char chunk[64 * 1024];
  ssize_t n = recv(fd_, chunk, sizeof(chunk), 0);
  if (n == 0) return Lost("the broker closed the connection");
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return absl::OkStatus();
    return Lost(std::strerror(errno));
  }
  last_received_ = absl::Now();
  size_t start = 0;
  if (discarding_ > 0) {
    start = std::min(discarding_, static_cast<size_t>(n));
    discarding_ -= start;
  }
  buffer_.append(chunk + start, static_cast<size_t>(n) - start);
  return absl::OkStatus();
}

namespace {

// A PUBLISH's fixed-header flags and variable header (topic, packet id) into
// `message`; the variable header's length. `body` may stop after it.
absl::StatusOr<size_t> ReadPublishHeader(uint8_t first_byte, absl::string_view body,
                                         ReceivedMessage& message) {
  message.qos = (first_byte >> 1) & 3;
  if (message.qos > 1) {
    // We subscribe at QoS 1; a broker downgrades what it forwards to that.
    return Lost("the broker sent a QoS 2 PUBLISH to a QoS 1 subscription");
  }
  message.redelivered = (first_byte & 0x08) != 0;
  if (body.size() < 2) return Lost("a malformed PUBLISH");
  const size_t topic_size = ReadUint16(body, 0);
  const size_t variable = 2 + topic_size + (message.qos > 0 ? 2 : 0);
  if (variable > body.size()) return Lost("a malformed PUBLISH");
  message.topic = std::string(body.substr(2, topic_size));
  if (message.qos > 0) message.packet_id = ReadUint16(body, 2 + topic_size);
  return variable;
}

}  // namespace

absl::Status MqttSession::ParsePackets() {
  // Packets are taken from the front of the buffer and the bytes they used
  // dropped once at the end: erasing after each packet would move the rest
  // of a 64 KiB read once per packet.
  size_t consumed = 0;
  absl::Status status = TakePackets(consumed);
  buffer_.erase(0, consumed);
  return status;
}

absl::Status MqttSession::TakePackets(size_t& consumed) {
  while (discarding_ == 0 && buffer_.size() - consumed >= 2) {
    const absl::string_view rest = absl::string_view(buffer_).substr(consumed);
    size_t length = 0;
    size_t header_size = 1;
    int shift = 0;
    bool complete = false;
    while (header_size < rest.size() && header_size <= 4) {
      const auto digit = static_cast<uint8_t>(rest[header_size++]);
      length |= static_cast<size_t>(digit & 0x7f) << shift;
      shift += 7;
      if ((digit & 0x80) == 0) {
        complete = true;
        break;
      }
    }
    if (!complete) {
      if (header_size > 4) return Lost("a malformed packet length");
      return absl::OkStatus();  // the rest of the length is still coming
    }
    const auto first_byte = static_cast<uint8_t>(rest[0]);
    const bool publish = first_byte >> 4 == kPublish;
    if (!publish && length > kMaxControlPacket) return Lost("an oversized control packet");
    if (publish && length > options_.max_payload_bytes + kMaxPublishHeader) {
      // Keep only the variable header, drop the payload as it arrives.
      const size_t wanted = header_size + std::min(length, kMaxPublishHeader);
      if (rest.size() < wanted) return absl::OkStatus();
      ReceivedMessage message;
      absl::StatusOr<size_t> variable =
          ReadPublishHeader(first_byte, rest.substr(header_size, wanted - header_size), message);
      if (!variable.ok()) return variable.status();
      message.payload_size = length - *variable;
      message.oversized = true;
      pending_.push_back(std::move(message));
      const size_t total = header_size + length;
      if (rest.size() >= total) {
        consumed += total;
      } else {
        discarding_ = total - rest.size();
        consumed = buffer_.size();
      }
      continue;
    }
    if (rest.size() < header_size + length) return absl::OkStatus();
    consumed += header_size + length;
    if (absl::Status handled = HandlePacket(first_byte, rest.substr(header_size, length));
        !handled.ok()) {
      return handled;
    }
  }
  return absl::OkStatus();
}

absl::Status MqttSession::HandlePacket(uint8_t header, absl::string_view body) {
  switch (header >> 4) {
    case kPublish: {
      ReceivedMessage message;
      absl::StatusOr<size_t> variable = ReadPublishHeader(header, body, message);
      if (!variable.ok()) return variable.status();
      message.payload = std::string(body.substr(*variable));
      message.payload_size = message.payload.size();
      if (message.payload_size > options_.max_payload_bytes) {
        message.payload.clear();
        message.oversized = true;
      }
      pending_.push_back(std::move(message));
      return absl::OkStatus();
    }
    case kSuback:
      if (body.size() < 3) return Lost("a malformed SUBACK");
      if (awaited_suback_ && ReadUint16(body, 0) == *awaited_suback_) {
        suback_codes_.assign(body.begin() + 2, body.end());
        awaited_suback_.reset();
      }
      return absl::OkStatus();
    case kPingresp:
      ping_outstanding_ = false;
      return absl::OkStatus();
    default:
      // Nothing else is sent to a subscriber that publishes nothing.
      return Lost(absl::StrCat("an unexpected packet of type ", header >> 4));
  }
}

absl::Status MqttSession::KeepAlive() {
  const absl::Time now = absl::Now();
  const absl::Duration keep_alive = options_.keep_alive;
  if (ping_outstanding_ && now - last_received_ > keep_alive) {
    return Lost("the broker stopped answering pings");
  }
  if (!ping_outstanding_ && now - last_sent_ >= keep_alive / 2) {
    if (absl::Status sent = Send(Packet(kPingreq << 4, "")); !sent.ok()) return sent;
    ping_outstanding_ = true;
  }
  return absl::OkStatus();
}

absl::Status MqttSession::Subscribe(const std::vector<std::string>& filters) {
  std::string body;
  const uint16_t id = next_packet_id_++;
  if (next_packet_id_ == 0) next_packet_id_ = 1;
  AppendUint16(body, id);
  for (const std::string& filter : filters) {
    AppendString(body, filter);
    body.push_back(1);  // QoS 1
  }
  awaited_suback_ = id;
  suback_codes_.clear();
  if (absl::Status sent = Send(Packet((kSubscribe << 4) | 0x02, body)); !sent.ok()) return sent;
  const absl::Time deadline = absl::Now() + options_.connect_timeout;
  while (awaited_suback_.has_value()) {
    if (absl::Now() >= deadline) return absl::UnavailableError("no SUBACK from the MQTT broker");
    if (absl::Status read = Fill(deadline); !read.ok()) return read;
    if (absl::Status parsed = ParsePackets(); !parsed.ok()) return parsed;
  }
  for (size_t i = 0; i < filters.size(); ++i) {
    if (i >= suback_codes_.size() || suback_codes_[i] == 0x80) {
      return absl::FailedPreconditionError(
          absl::StrCat("the MQTT broker refused the subscription to \"", filters[i], "\""));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<ReceivedMessage>> MqttSession::Next(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    if (absl::Status parsed = ParsePackets(); !parsed.ok()) return parsed;
    if (!pending_.empty()) {
      ReceivedMessage message = std::move(pending_.front());
      pending_.pop_front();
      return std::optional<ReceivedMessage>(std::move(message));
    }
    if (absl::Status alive = KeepAlive(); !alive.ok()) return alive;
    const absl::Time now = absl::Now();
    if (now >= deadline) return std::optional<ReceivedMessage>();
    // Wake for the next ping too.
    const absl::Time wake = std::min(deadline, now + options_.keep_alive / 4);
    if (absl::Status read = Fill(wake); !read.ok()) return read;
  }
}

absl::Status MqttSession::Poll(absl::Duration timeout) {
  if (absl::Status alive = KeepAlive(); !alive.ok()) return alive;
  if (absl::Status read = Fill(absl::Now() + timeout); !read.ok()) return read;
  return ParsePackets();
}

absl::Status MqttSession::Acknowledge(uint16_t packet_id) {
  std::string body;
  AppendUint16(body, packet_id);
  return Send(Packet(kPuback << 4, body));
}

}  // namespace plantmon::mqtt
