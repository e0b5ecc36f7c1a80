// A deliberate leak, for leak-detection.test.
#include <stdlib.h>

int main(void) {
  void *volatile block = malloc(77);
  block = 0;
  return 0;
}
