/*
 * stb_image.c -- stb_image's decoders compiled into the fuzz targets from
 * the libstb-dev header (the same source as Debian's libstb, which the
 * library links), so they are instrumented: coverage then guides the
 * image target into the PNG, JPEG, BMP, PNM, ... parsers, and the
 * sanitizers watch them. These definitions come before -lstb at link
 * time and take precedence.
 */
#define STB_IMAGE_IMPLEMENTATION
#include <stb/stb_image.h>
