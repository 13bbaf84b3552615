// Fuzzes IP address and CIDR parsing: no crash, accepted values round trip through text, and a
// prefix contains its own network address.
#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"
#include "core/ip.h"
#include "fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  if (absl::StatusOr<connmgr::IpAddress> a = connmgr::IpAddress::Parse(input); a.ok()) {
    absl::StatusOr<connmgr::IpAddress> again = connmgr::IpAddress::Parse(a->ToString());
    FUZZ_CHECK(again.ok() && *again == *a, a->ToString());
    (void)a->IsLoopback();
    (void)a->IsPrivate();
    (void)a->Unmapped();
  }
  if (absl::StatusOr<connmgr::IpPrefix> p = connmgr::IpPrefix::Parse(input); p.ok()) {
    absl::StatusOr<connmgr::IpPrefix> again = connmgr::IpPrefix::Parse(p->ToString());
    FUZZ_CHECK(again.ok() && *again == *p, p->ToString());
    FUZZ_CHECK(p->Contains(p->network()), p->ToString());
    FUZZ_CHECK(p->length() >= 0 && p->length() <= (p->network().is_v4() ? 32 : 128), p->ToString());
  }
  return 0;
}
