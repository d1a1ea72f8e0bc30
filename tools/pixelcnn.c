/* placeholder */
#include "pixelcnn.h"
#include <stdio.h>
int main(void) { puts(PCNN_VERSION); return 0; }
