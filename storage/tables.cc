#include "storage/tables.h"

#include "plantmon/v1/alert.pb.h"
#include "plantmon/v1/plant.pb.h"

namespace plantmon::storage {

// Alerts are written by the alert engine and the lifecycle methods only.
const postgres::MessageTable& Alerts() {
  static const auto* table =
      new postgres::MessageTable("alerts", v1::Alert::descriptor(),
                                 postgres::FieldColumns(postgres::ColumnAccess::kReadOnly)
                                     .Enum("severity", "alert_severity_enum")
                                     .Enum("status", "alert_status_enum"));
  return *table;
}

const postgres::MessageTable& Plants() {
  static const auto* table = new postgres::MessageTable(
      "plants", v1::Plant::descriptor(),
      postgres::FieldColumns().ReadOnly({"id", "user_id", "created_at", "updated_at"}));
  return *table;
}

}  // namespace plantmon::storage
