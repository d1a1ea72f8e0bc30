#define _POSIX_C_SOURCE 200809L
#include <immintrin.h>
#include <stdio.h>
#include <time.h>
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+1e-9*t.tv_nsec;}
int main(void){
  __m512 a[24]; for(int i=0;i<24;i++) a[i]=_mm512_set1_ps(1.0f+i*1e-7f);
  __m512 b=_mm512_set1_ps(0.9999999f), c=_mm512_set1_ps(1e-7f);
  for(int rep=0;rep<5;rep++){
  long n=200000000/24; double t0=now();
  for(long k=0;k<n;k++){
#pragma GCC unroll 24
    for(int i=0;i<24;i++) a[i]=_mm512_fmadd_ps(a[i],b,c);
  }
  double t=now()-t0; float s=0; for(int i=0;i<24;i++) s+=_mm512_reduce_add_ps(a[i]);
  printf("zmm fma peak: %.1f GFLOP/s (%g)\n", n*24.0*32/t*1e-9, s);}
}
