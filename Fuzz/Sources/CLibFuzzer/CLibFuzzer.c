// SwiftPM needs one source file for a C target; the header is the interface.
#include "CLibFuzzer.h"
