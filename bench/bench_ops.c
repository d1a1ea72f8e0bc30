/* placeholder */
#include "pixelcnn.h"
int main(void) { return 0; }
