#ifndef PLANTMON_SERVICES_PLANTMON_SERVICES_H_
#define PLANTMON_SERVICES_PLANTMON_SERVICES_H_

// The plantmon.v1 services, each a table of handlers (services/rpc_service.h)
// over the server's backends. Each file services/<name>_service.cc says what
// its service covers.

#include <memory>

#include "services/backends.h"
#include "services/rpc_service.h"

namespace plantmon::services {

// Sign-up, sign-in, sessions, accounts and API keys.
std::unique_ptr<RpcService> NewUserService(Backends& backends, CallRuntime& runtime);
// The manufacturer and device-type catalogue, and the caller's devices.
std::unique_ptr<RpcService> NewDeviceService(Backends& backends, CallRuntime& runtime);
// The plant-type catalogue, the caller's plants and device assignments.
std::unique_ptr<RpcService> NewPlantService(Backends& backends, CallRuntime& runtime);
// Alert rules, alerts and the live alert feed.
std::unique_ptr<RpcService> NewAlertService(Backends& backends, CallRuntime& runtime);
// Readings in and out.
std::unique_ptr<RpcService> NewTelemetryService(Backends& backends, CallRuntime& runtime);

}  // namespace plantmon::services

#endif  // PLANTMON_SERVICES_PLANTMON_SERVICES_H_
