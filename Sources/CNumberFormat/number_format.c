#include "number_format.h"
#include <stdio.h>

int fu_format_g17(char *buffer, size_t size, double value) {
    return snprintf(buffer, size, "%.17g", value);
}
