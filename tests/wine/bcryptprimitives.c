// A stand-in for Windows' bcryptprimitives.dll, for Wine 8 (Debian 12) only: Rust's std (1.78+)
// draws randomness from its ProcessPrng, which Windows 10 and later have and Wine 8 lacks. It
// forwards to RtlGenRandom (advapi32). Real Windows never loads this file; tests/release.rs
// builds it with mingw-w64 and puts it beside the .exe only under Wine.
#include <windows.h>
BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);
BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length) {
  while (length > 0) {
    ULONG part = length > 0x10000000 ? 0x10000000 : (ULONG)length;
    if (!SystemFunction036(data, part)) return FALSE;
    data += part;
    length -= part;
  }
  return TRUE;
}
