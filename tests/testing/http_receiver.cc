#include "tests/testing/http_receiver.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"

namespace plantmon::testing {

HttpReceiver::HttpReceiver() {
  listener_ = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (listener_ < 0 ||
      bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      listen(listener_, 64) != 0) {
    std::abort();
  }
  socklen_t length = sizeof(address);
  getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length);
  port_ = ntohs(address.sin_port);
  server_ = std::thread([this] { Serve(); });
}

HttpReceiver::~HttpReceiver() {
  stopping_ = true;
  shutdown(listener_, SHUT_RDWR);
  server_.join();
  close(listener_);
  std::vector<std::thread> handlers;
  {
    std::lock_guard<std::mutex> lock(mu_);
    handlers.swap(handlers_);
  }
  for (std::thread& handler : handlers) handler.join();
}

std::string HttpReceiver::Url(const std::string& path) const {
  return absl::StrCat("http://127.0.0.1:", port_, path);
}

void HttpReceiver::Script(std::vector<int> statuses) {
  std::lock_guard<std::mutex> lock(mu_);
  script_.assign(statuses.begin(), statuses.end());
}

int HttpReceiver::InFlightLocked() const {
  int open = 0;
  char byte = 0;
  for (int connection : held_) {
    // EOF or a reset: the client gave up. Nothing to read yet: still waiting.
    if (recv(connection, &byte, 1, MSG_PEEK | MSG_DONTWAIT) < 0 &&
        (errno == EAGAIN || errno == EWOULDBLOCK)) {
      ++open;
    }
  }
  return answering_ + open;
}

int HttpReceiver::max_in_flight() const {
  std::lock_guard<std::mutex> lock(mu_);
  return max_in_flight_;
}

std::vector<ReceivedRequest> HttpReceiver::Requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_;
}

bool HttpReceiver::WaitFor(size_t count, absl::Duration timeout) const {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (Requests().size() >= count) return true;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return Requests().size() >= count;
}

void HttpReceiver::Serve() {
  while (!stopping_) {
    pollfd ready{listener_, POLLIN, 0};
    if (poll(&ready, 1, 100) <= 0) continue;
    const int connection = accept(listener_, nullptr, nullptr);
    if (connection < 0) continue;
    std::lock_guard<std::mutex> lock(mu_);
    handlers_.emplace_back([this, connection] { Handle(connection); });
  }
}

void HttpReceiver::Handle(int connection) {
  std::string data;
  char buffer[65536];
  size_t head_end = std::string::npos;
  size_t content_length = 0;
  while (true) {
    if (head_end == std::string::npos) head_end = data.find("\r\n\r\n");
    if (head_end != std::string::npos) {
      for (absl::string_view line : absl::StrSplit(data.substr(0, head_end), "\r\n")) {
        if (absl::StartsWithIgnoreCase(line, "content-length:")) {
          (void)absl::SimpleAtoi(absl::StripAsciiWhitespace(line.substr(15)), &content_length);
        }
      }
      if (data.size() >= head_end + 4 + content_length) break;
    }
    const ssize_t got = recv(connection, buffer, sizeof(buffer), 0);
    if (got <= 0) {
      close(connection);
      return;
    }
    data.append(buffer, static_cast<size_t>(got));
  }
  ReceivedRequest request;
  request.at = absl::Now();
  std::vector<std::string> lines = absl::StrSplit(data.substr(0, head_end), "\r\n");
  std::vector<std::string> first = absl::StrSplit(lines[0], ' ');
  request.method = !first.empty() ? first[0] : "";
  request.path = first.size() > 1 ? first[1] : "";
  for (size_t i = 1; i < lines.size(); ++i) {
    const size_t colon = lines[i].find(':');
    if (colon == std::string::npos) continue;
    request.headers[absl::AsciiStrToLower(lines[i].substr(0, colon))] =
        std::string(absl::StripAsciiWhitespace(lines[i].substr(colon + 1)));
  }
  request.body = data.substr(head_end + 4, content_length);
  int status = 200;
  {
    std::lock_guard<std::mutex> lock(mu_);
    requests_.push_back(request);
    if (!script_.empty()) {
      status = script_.front();
      script_.pop_front();
    }
    max_in_flight_ = std::max(max_in_flight_, InFlightLocked() + 1);
    if (status == 0) {
      held_.insert(connection);
    } else {
      ++answering_;
    }
  }
  if (status == 0) {
    // Never answers: waits until the client closes or the receiver stops.
    while (!stopping_) {
      pollfd closed{connection, POLLIN, 0};
      if (poll(&closed, 1, 50) > 0 && recv(connection, buffer, sizeof(buffer), 0) <= 0) break;
    }
    std::lock_guard<std::mutex> lock(mu_);
    held_.erase(connection);
  } else {
    {
      // No longer in flight before the answer leaves: the client may try
      // again the moment it reads it.
      std::lock_guard<std::mutex> lock(mu_);
      --answering_;
    }
    const std::string answer = absl::StrCat(
        "HTTP/1.1 ", status, " Scripted\r\nContent-Length: 2\r\n", "Connection: close\r\n\r\nok");
    send(connection, answer.data(), answer.size(), MSG_NOSIGNAL);
  }
  close(connection);
}

}  // namespace plantmon::testing
