#ifndef PLANTMON_POSTGRES_CONNECTION_POOL_FWD_H_
#define PLANTMON_POSTGRES_CONNECTION_POOL_FWD_H_

// The pool by name only, for headers (the repositories') whose callers need
// not see libpqxx; postgres/connection_pool.h defines it.

namespace plantmon::postgres {
class ConnectionPool;
}  // namespace plantmon::postgres

#endif  // PLANTMON_POSTGRES_CONNECTION_POOL_FWD_H_
