#ifndef PLANTMON_STORAGE_TABLES_H_
#define PLANTMON_STORAGE_TABLES_H_

// Column tables more than one repository reads (private to storage/).

#include "postgres/message_table.h"

namespace plantmon::storage {

// `alerts` (migrations 0001, 0003, 0006), as v1::Alert.
const postgres::MessageTable& Alerts();
// `plants` (migrations 0001, 0016, 0020), as v1::Plant.
const postgres::MessageTable& Plants();

}  // namespace plantmon::storage

#endif  // PLANTMON_STORAGE_TABLES_H_
