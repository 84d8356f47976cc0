// The functions are inline, in include/CIntrinsics.h; SwiftPM needs a source file.
#include "CIntrinsics.h"
