#include "tests/testing/mosquitto.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <mosquitto.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

#include "absl/time/time.h"
#include "common/sync.h"
#include "gtest/gtest.h"

namespace plantmon::testing {
namespace {

constexpr char kMosquittoBinary[] = "/usr/sbin/mosquitto";
constexpr char kPasswdBinary[] = "/usr/bin/mosquitto_passwd";

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof(address);
  const bool bound = bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
                     getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size) == 0;
  close(fd);
  EXPECT_TRUE(bound) << "no free port on 127.0.0.1";
  return ntohs(address.sin_port);
}

bool Accepts(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  close(fd);
  return ok;
}

void InitLibrary() {
  static const bool initialised = [] {
    mosquitto_lib_init();
    return true;
  }();
  (void)initialised;
}

}  // namespace

std::string TempPath(const std::string& name) {
  const char* directory = std::getenv("TEST_TMPDIR");
  return std::string(directory != nullptr ? directory : "/tmp") + "/" + name;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

pid_t Spawn(const std::string& path,
            const std::vector<std::pair<std::string, std::string>>& environment,
            const std::string& log_file) {
  pid_t pid = fork();
  if (pid == 0) {
    for (const auto& [name, value] : environment) setenv(name.c_str(), value.c_str(), 1);
    int log = open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (log >= 0) {
      dup2(log, STDOUT_FILENO);
      dup2(log, STDERR_FILENO);
    }
    execl(path.c_str(), path.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  return pid;
}

std::unique_ptr<MosquittoBroker> MosquittoBroker::Start(const std::string& user,
                                                        const std::string& password) {
  if (access(kMosquittoBinary, X_OK) != 0 || access(kPasswdBinary, X_OK) != 0) {
    ADD_FAILURE() << kMosquittoBinary << " is missing: run tools/bootstrap (tools/test does)";
    return nullptr;
  }
  std::unique_ptr<MosquittoBroker> broker(new MosquittoBroker());
  broker->user_ = user;
  broker->password_ = password;
  broker->directory_ =
      TempPath("mosquitto-" + std::to_string(getpid()) + "-" + std::to_string(FreePort()));
  mkdir(broker->directory_.c_str(), 0700);
  const std::string passwd = broker->directory_ + "/passwd";
  const std::string command = std::string(kPasswdBinary) + " -b -c " + passwd + " '" + user +
                              "' '" + password + "' >/dev/null 2>&1";
  if (std::system(command.c_str()) != 0) {
    ADD_FAILURE() << "mosquitto_passwd failed";
    return nullptr;
  }
  chmod(passwd.c_str(), 0600);
  broker->port_ = FreePort();
  // The settings tools/run gives its private broker (tools/lib/mosquitto.sh).
  std::ofstream config(broker->directory_ + "/mosquitto.conf");
  config << "listener " << broker->port_ << " 127.0.0.1\n"
         << "allow_anonymous false\n"
         << "password_file " << passwd << "\n"
         << "persistence true\n"
         << "persistence_location " << broker->directory_ << "/\n"
         << "max_inflight_messages 1000\n"
         << "max_queued_messages 1000000\n"
         << "user root\n"
         << "log_dest file " << broker->directory_ << "/mosquitto.log\n";
  config.close();
  if (!broker->Launch()) return nullptr;
  return broker;
}

bool MosquittoBroker::Launch() {
  pid_ = fork();
  if (pid_ == 0) {
    execl(kMosquittoBinary, kMosquittoBinary, "-c", (directory_ + "/mosquitto.conf").c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  for (int i = 0; i < 200; ++i) {
    if (Accepts(port_)) return true;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  ADD_FAILURE() << "mosquitto did not start on port " << port_ << ": "
                << ReadFile(directory_ + "/mosquitto.log");
  return false;
}

std::string MosquittoBroker::Url() const {
  return "mqtt://" + user_ + ":" + password_ + "@127.0.0.1:" + std::to_string(port_);
}

void MosquittoBroker::Stop() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

bool MosquittoBroker::Restart() {
  Stop();
  return Launch();
}

MosquittoBroker::~MosquittoBroker() { Stop(); }

// std::mutex rather than absl::Mutex: see common/sync.h.
struct MqttPublisher::State {
  std::mutex mutex;
  std::condition_variable changed;
  // Guarded by mutex. on_publish fires for every message: QoS 1 once the
  // broker acknowledged it, QoS 0 once it was sent.
  int64_t queued = 0;
  int64_t acknowledged = 0;
  // The broker's CONNACK code, once it came.
  std::optional<int> connack;
};

MqttPublisher::MqttPublisher(int port, const std::string& user, const std::string& password)
    : state_(std::make_unique<State>()) {
  InitLibrary();
  client_ = mosquitto_new(nullptr, true, state_.get());
  mosquitto_username_pw_set(client_, user.c_str(), password.c_str());
  // Many messages in flight at once, as a busy gateway sends them.
  mosquitto_max_inflight_messages_set(client_, 1000);
  mosquitto_publish_callback_set(client_, [](struct mosquitto*, void* data, int) {
    auto* state = static_cast<State*>(data);
    {
      std::lock_guard<std::mutex> lock(state->mutex);
      ++state->acknowledged;
    }
    state->changed.notify_all();
  });
  mosquitto_connect_callback_set(client_, [](struct mosquitto*, void* data, int code) {
    auto* state = static_cast<State*>(data);
    {
      std::lock_guard<std::mutex> lock(state->mutex);
      state->connack = code;
    }
    state->changed.notify_all();
  });
  if (mosquitto_connect(client_, "127.0.0.1", port, 30) != MOSQ_ERR_SUCCESS ||
      mosquitto_loop_start(client_) != MOSQ_ERR_SUCCESS) {
    return;
  }
  // Nothing is published before the CONNACK: libmosquitto 2.0.11 resets its
  // send quota on CONNACK outside its lock, and QoS 1 messages a second
  // thread sent beyond the in-flight limit meanwhile are sent again, as new
  // messages the broker forwards twice (docs/mqtt.md, "Publishers").
  std::unique_lock<std::mutex> lock(state_->mutex);
  common::WaitUntil(state_->changed, lock, absl::Now() + absl::Seconds(30),
                    [this] { return state_->connack.has_value(); });
  connected_ = state_->connack == 0;
}

MqttPublisher::~MqttPublisher() {
  mosquitto_disconnect(client_);
  mosquitto_loop_stop(client_, false);
  mosquitto_destroy(client_);
}

bool MqttPublisher::Publish(const std::string& topic, const std::string& payload, int qos) {
  {
    std::lock_guard<std::mutex> lock(state_->mutex);
    ++state_->queued;
  }
  return mosquitto_publish(client_, nullptr, topic.c_str(), static_cast<int>(payload.size()),
                           payload.data(), qos, false) == MOSQ_ERR_SUCCESS;
}

bool MqttPublisher::Flush(int timeout_seconds) {
  std::unique_lock<std::mutex> lock(state_->mutex);
  return common::WaitUntil(state_->changed, lock, absl::Now() + absl::Seconds(timeout_seconds),
                           [this] { return state_->acknowledged >= state_->queued; });
}

}  // namespace plantmon::testing
