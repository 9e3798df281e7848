#ifndef PLANTMON_TESTS_TESTING_HTTP_RECEIVER_H_
#define PLANTMON_TESTS_TESTING_HTTP_RECEIVER_H_

// A real HTTP/1.1 server on 127.0.0.1 (port 0) that records what it is sent
// and answers as a test scripts it: a webhook receiver. Small on purpose:
// one request per connection, Content-Length bodies only, which is what
// libcurl sends for a POST with a known size.

#include <atomic>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/time.h"

namespace plantmon::testing {

struct ReceivedRequest {
  std::string method;
  std::string path;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
  absl::Time at;
};

class HttpReceiver {
 public:
  HttpReceiver();
  ~HttpReceiver();

  int port() const { return port_; }
  std::string Url(const std::string& path = "/hook") const;

  // Answers to the coming requests, in order; after them, 200. An answer of
  // 0 never answers: the connection stays open until the client gives up
  // or the receiver stops.
  void Script(std::vector<int> statuses);
  std::vector<ReceivedRequest> Requests() const;
  // Waits until at least `count` requests came, for at most `timeout`.
  bool WaitFor(size_t count, absl::Duration timeout) const;
  // The most requests it held at once: received, and neither answered nor
  // given up by the client. Counted when a request arrives, from what the
  // kernel knows then (a held connection the client closed reads EOF), so a
  // client that gives up and at once tries again is not counted twice.
  int max_in_flight() const;

 private:
  void Serve();
  void Handle(int connection);
  // Requests being answered plus held connections the client still has
  // open. Needs mu_.
  int InFlightLocked() const;

  int listener_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  mutable std::mutex mu_;
  std::deque<int> script_;                 // guarded by mu_
  std::vector<ReceivedRequest> requests_;  // guarded by mu_
  int answering_ = 0;                      // guarded by mu_
  std::set<int> held_;                     // guarded by mu_: never answered
  int max_in_flight_ = 0;                  // guarded by mu_
  std::vector<std::thread> handlers_;      // guarded by mu_
  std::thread server_;
};

}  // namespace plantmon::testing

#endif  // PLANTMON_TESTS_TESTING_HTTP_RECEIVER_H_
