#ifndef PLANTMON_TESTS_TESTING_MOSQUITTO_H_
#define PLANTMON_TESTS_TESTING_MOSQUITTO_H_

// A real Eclipse Mosquitto broker for a test suite (as tools/run starts one:
// a password file, persistence in its own directory), and a real publisher
// on libmosquitto. A test fails, never skips, when Mosquitto is missing
// (tools/bootstrap installs it).

#include <sys/types.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

struct mosquitto;

namespace plantmon::testing {

class MosquittoBroker {
 public:
  // Starts a broker on a free port of 127.0.0.1 with one user; fails the
  // test (ADD_FAILURE) and returns nullptr when it cannot.
  static std::unique_ptr<MosquittoBroker> Start(const std::string& user,
                                                const std::string& password);
  ~MosquittoBroker();

  int port() const { return port_; }
  // mqtt://user:password@127.0.0.1:port
  std::string Url() const;
  // Stops the broker (SIGTERM: it saves its persistence file) and starts it
  // again on the same port with the same data.
  void Stop();
  bool Restart();

 private:
  MosquittoBroker() = default;
  bool Launch();

  std::string directory_;
  std::string user_;
  std::string password_;
  int port_ = 0;
  pid_t pid_ = -1;
};

// Publishes through libmosquitto and waits for each QoS 1 message's PUBACK.
class MqttPublisher {
 public:
  MqttPublisher(int port, const std::string& user, const std::string& password);
  ~MqttPublisher();
  bool connected() const { return connected_; }
  // Queues the message (libmosquitto sends it from its own thread); false
  // when libmosquitto refuses it.
  bool Publish(const std::string& topic, const std::string& payload, int qos = 1);
  // Waits (at most `timeout_seconds`) until the broker acknowledged every
  // QoS 1 message queued so far.
  bool Flush(int timeout_seconds = 60);

 private:
  struct State;
  struct mosquitto* client_ = nullptr;
  std::unique_ptr<State> state_;
  bool connected_ = false;
};

// Runs `path` with `environment` added, stdout and stderr appended to
// `log_file`; the child's pid.
pid_t Spawn(const std::string& path,
            const std::vector<std::pair<std::string, std::string>>& environment,
            const std::string& log_file);

// The file's whole text ("" when missing).
std::string ReadFile(const std::string& path);

// A path under the test's temporary directory.
std::string TempPath(const std::string& name);

}  // namespace plantmon::testing

#endif  // PLANTMON_TESTS_TESTING_MOSQUITTO_H_
