#ifndef PLANTMON_TESTS_TESTING_FIELD_SETTERS_H_
#define PLANTMON_TESTS_TESTING_FIELD_SETTERS_H_

// Setting any field of any message through reflection, for the tests and the
// fuzzer that build requests for every method generically. Each setter sets a
// singular field or adds an element to a repeated one.

#include <cstdint>
#include <string>

#include "google/protobuf/descriptor.h"
#include "google/protobuf/field_mask.pb.h"
#include "google/protobuf/message.h"
#include "google/protobuf/timestamp.pb.h"

namespace plantmon::testing {

inline bool IsTimestampField(const google::protobuf::FieldDescriptor* field) {
  return field->message_type() != nullptr &&
         field->message_type()->full_name() == "google.protobuf.Timestamp";
}

inline bool IsFieldMaskField(const google::protobuf::FieldDescriptor* field) {
  return field->message_type() != nullptr &&
         field->message_type()->full_name() == "google.protobuf.FieldMask";
}

inline void SetStringField(google::protobuf::Message* m, const google::protobuf::FieldDescriptor* f,
                           const std::string& v) {
  f->is_repeated() ? m->GetReflection()->AddString(m, f, v)
                   : m->GetReflection()->SetString(m, f, v);
}

// Any integer field; `v` is converted to the field's width and signedness.
inline void SetIntegerField(google::protobuf::Message* m,
                            const google::protobuf::FieldDescriptor* f, int64_t v) {
  using google::protobuf::FieldDescriptor;
  const google::protobuf::Reflection* r = m->GetReflection();
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      f->is_repeated() ? r->AddInt32(m, f, static_cast<int32_t>(v))
                       : r->SetInt32(m, f, static_cast<int32_t>(v));
      break;
    case FieldDescriptor::CPPTYPE_UINT32:
      f->is_repeated() ? r->AddUInt32(m, f, static_cast<uint32_t>(v))
                       : r->SetUInt32(m, f, static_cast<uint32_t>(v));
      break;
    case FieldDescriptor::CPPTYPE_UINT64:
      f->is_repeated() ? r->AddUInt64(m, f, static_cast<uint64_t>(v))
                       : r->SetUInt64(m, f, static_cast<uint64_t>(v));
      break;
    default:
      f->is_repeated() ? r->AddInt64(m, f, v) : r->SetInt64(m, f, v);
  }
}

// A double or float field.
inline void SetRealField(google::protobuf::Message* m, const google::protobuf::FieldDescriptor* f,
                         double v) {
  const google::protobuf::Reflection* r = m->GetReflection();
  if (f->cpp_type() == google::protobuf::FieldDescriptor::CPPTYPE_FLOAT) {
    f->is_repeated() ? r->AddFloat(m, f, static_cast<float>(v))
                     : r->SetFloat(m, f, static_cast<float>(v));
  } else {
    f->is_repeated() ? r->AddDouble(m, f, v) : r->SetDouble(m, f, v);
  }
}

// Any number, declared or not (proto3 enums are open).
inline void SetEnumField(google::protobuf::Message* m, const google::protobuf::FieldDescriptor* f,
                         int v) {
  f->is_repeated() ? m->GetReflection()->AddEnumValue(m, f, v)
                   : m->GetReflection()->SetEnumValue(m, f, v);
}

inline void SetBoolField(google::protobuf::Message* m, const google::protobuf::FieldDescriptor* f,
                         bool v) {
  f->is_repeated() ? m->GetReflection()->AddBool(m, f, v) : m->GetReflection()->SetBool(m, f, v);
}

// The target of a message field: the field itself or a new element.
inline google::protobuf::Message* MutableMessageField(google::protobuf::Message* m,
                                                      const google::protobuf::FieldDescriptor* f) {
  return f->is_repeated() ? m->GetReflection()->AddMessage(m, f)
                          : m->GetReflection()->MutableMessage(m, f);
}

// Through the wire format, so a dynamic message works as well as a generated one.
inline void SetTimestampField(google::protobuf::Message* m,
                              const google::protobuf::FieldDescriptor* f, int64_t seconds,
                              int32_t nanos) {
  google::protobuf::Timestamp timestamp;
  timestamp.set_seconds(seconds);
  timestamp.set_nanos(nanos);
  MutableMessageField(m, f)->ParseFromString(timestamp.SerializeAsString());
}

inline void SetFieldMaskField(google::protobuf::Message* m,
                              const google::protobuf::FieldDescriptor* f, const std::string& path) {
  google::protobuf::FieldMask mask;
  mask.add_paths(path);
  MutableMessageField(m, f)->ParseFromString(mask.SerializeAsString());
}

}  // namespace plantmon::testing

#endif  // PLANTMON_TESTS_TESTING_FIELD_SETTERS_H_
