// Printable: text a remote peer chose (an identify agent version, a protocol id, an error that
// quotes what the peer sent), made safe to print on an operator's terminal or in a log line.
//
//   std::string line = absl::StrCat("agent \"", Printable(info.agent_version), "\"");
//   Printable("evil\n\x1b[2Jconnected 12D3KooW")  // evil\n\x1b[2Jconnected 12D3KooW, one line
//
// The result is one line of printable text that cannot move the cursor, clear the screen,
// start a forged line or reorder what follows it:
//   - printable ASCII is kept, except `\` and `"`, which become `\\` and `\"` (so the text can
//     sit inside quotes);
//   - newline, carriage return and tab become `\n`, `\r`, `\t`; every other control byte
//     (0x00-0x1f, 0x7f; ESC is 0x1b) becomes `\xNN` (two lowercase hex digits);
//   - well-formed UTF-8 is kept, except C1 controls (U+0080-U+009F), the line and paragraph
//     separators (U+2028, U+2029), the bidirectional marks, embeddings, overrides and
//     isolates (U+200E, U+200F, U+202A-U+202E, U+2066-U+2069) and the byte order mark
//     (U+FEFF), which become `\u{hex}` (lowercase, no padding);
//   - every byte that does not start a well-formed UTF-8 sequence becomes `\xNN`.
// It holds at most `max_chars` characters (an escape counts all its characters, a UTF-8
// character one) and never splits an escape. When the input does not fit, what did is followed
// by `...[N more bytes]`, N the input bytes left out.
#ifndef CONNMGR_CORE_PRINTABLE_H_
#define CONNMGR_CORE_PRINTABLE_H_

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"

namespace connmgr {

inline constexpr size_t kPrintableMaxChars = 128;

std::string Printable(absl::string_view untrusted, size_t max_chars = kPrintableMaxChars);

}  // namespace connmgr

#endif  // CONNMGR_CORE_PRINTABLE_H_
