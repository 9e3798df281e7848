#include "postgres/field_text.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include "gtest/gtest.h"
#include "tests/testing/test_database.h"

namespace plantmon::postgres {
namespace {

using ::plantmon::testing::TestDatabase;

// FieldAs must read what PostgreSQL writes exactly as libpqxx does, and fail
// as libpqxx does on what it cannot read: the values come from PostgreSQL's
// own output functions.
class FieldTextTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    database_ = TestDatabase::CreateOrDie(/*migrate=*/false).release();
  }
  static void TearDownTestSuite() { delete database_; }

  static pqxx::result Column(const std::string& sql) { return database_->Query(sql); }

  static TestDatabase* database_;
};

TestDatabase* FieldTextTest::database_ = nullptr;

TEST_F(FieldTextTest, DoublesReadAsLibpqxxReadsThem) {
  pqxx::result rows = Column(
      "SELECT v FROM unnest(ARRAY[0, -0.0, 1, -1, 0.1, 12.5, 1e308, -1e308, 5e-324, "
      "2.2250738585072014e-308, 123456789.123456789, 3.141592653589793, "
      "'NaN', 'Infinity', '-Infinity']::float8[]) v");
  ASSERT_EQ(rows.size(), 15u);
  for (const pqxx::row& row : rows) {
    const auto expected = row[0].as<double>();
    const auto read = FieldAs<double>(row[0]);
    if (std::isnan(expected)) {
      EXPECT_TRUE(std::isnan(read)) << row[0].c_str();
    } else {
      EXPECT_EQ(read, expected) << row[0].c_str();
      EXPECT_EQ(std::signbit(read), std::signbit(expected)) << row[0].c_str();
    }
  }
  // float4 columns are written with fewer digits; they still read exactly.
  EXPECT_EQ(FieldAs<double>(Column("SELECT 0.1::float4")[0][0]),
            Column("SELECT 0.1::float4")[0][0].as<double>());
}

TEST_F(FieldTextTest, IntegersAndBooleansReadAsLibpqxxReadsThem) {
  for (const pqxx::row& row : Column("SELECT v FROM unnest(ARRAY[0, 1, -1, 9223372036854775807, "
                                     "-9223372036854775808, 1796442000000000]::bigint[]) v")) {
    EXPECT_EQ(FieldAs<int64_t>(row[0]), row[0].as<int64_t>()) << row[0].c_str();
  }
  for (const pqxx::row& row :
       Column("SELECT v FROM unnest(ARRAY[0, 7, -2147483648, 2147483647]::integer[]) v")) {
    EXPECT_EQ(FieldAs<int32_t>(row[0]), row[0].as<int32_t>()) << row[0].c_str();
  }
  pqxx::result booleans = Column("SELECT true, false");
  EXPECT_TRUE(FieldAs<bool>(booleans[0][0]));
  EXPECT_FALSE(FieldAs<bool>(booleans[0][1]));
  EXPECT_EQ(FieldAs<std::string>(Column("SELECT 'soil_moisture'::text")[0][0]), "soil_moisture");
  EXPECT_EQ(FieldAs<std::string>(Column("SELECT ''::text")[0][0]), "");
}

TEST_F(FieldTextTest, WhatCannotBeReadThrowsAsLibpqxxThrows) {
  pqxx::result rows = Column(
      "SELECT NULL::bigint, 1.5::numeric, 9223372036854775807::bigint, 'x'::text, "
      "NULL::text, 'true'::text");
  EXPECT_THROW(FieldAs<int64_t>(rows[0][0]), pqxx::conversion_error);
  EXPECT_THROW(FieldAs<int64_t>(rows[0][1]), pqxx::conversion_error);
  EXPECT_THROW(FieldAs<int32_t>(rows[0][2]), pqxx::conversion_error);  // out of range
  EXPECT_THROW(FieldAs<double>(rows[0][3]), pqxx::conversion_error);
  EXPECT_THROW(FieldAs<double>(rows[0][0]), pqxx::conversion_error);
  EXPECT_THROW(FieldAs<std::string>(rows[0][4]), pqxx::conversion_error);
  EXPECT_THROW(FieldAs<bool>(rows[0][3]), pqxx::conversion_error);
  // A form libpqxx accepts and PostgreSQL's boolout never writes is still
  // read, by libpqxx.
  EXPECT_EQ(FieldAs<double>(rows[0][1]), 1.5);
  EXPECT_EQ(FieldAs<bool>(rows[0][5]), rows[0][5].as<bool>());
}

}  // namespace
}  // namespace plantmon::postgres
