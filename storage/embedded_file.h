#ifndef PLANTMON_STORAGE_EMBEDDED_FILE_H_
#define PLANTMON_STORAGE_EMBEDDED_FILE_H_

#include <string>
#include <vector>

namespace plantmon::storage {

// A file compiled into the binary by third_party/embed_files.sh.
struct EmbeddedFile {
  std::string name;  // base name, e.g. "0001_initial_schema.sql"
  std::string contents;
};

// The files of migrations/*.sql, sorted by name.
const std::vector<EmbeddedFile>& EmbeddedMigrationFiles();

// storage/demo_data.sql.
const std::vector<EmbeddedFile>& EmbeddedDemoDataFiles();

}  // namespace plantmon::storage

#endif  // PLANTMON_STORAGE_EMBEDDED_FILE_H_
