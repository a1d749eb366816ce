/* hash.c — the partitioning hashes, bit-exact with the reference:
 * seahash 4.x hash(), Java Kafka's murmur2 (masked to a non-negative int32)
 * and IEEE CRC-32 (zlib's). */
#include <string.h>
#include <zlib.h>
#include "../include/sinkgate_ffi.h"

static inline uint64_t load_le64(const unsigned char *p) {
  uint64_t v;
  memcpy(&v, p, 8); /* x86-64 and aarch64 Linux are little-endian */
  return v;
}

/* Little-endian read of 1..7 trailing bytes. */
static inline uint64_t load_le_tail(const unsigned char *p, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; i++) v |= (uint64_t)p[i] << (8 * i);
  return v;
}

static inline uint64_t diffuse(uint64_t x) {
  x *= 0x6eed0e9da4d94a4fULL;
  x ^= (x >> 32) >> (x >> 60);
  x *= 0x6eed0e9da4d94a4fULL;
  return x;
}

uint64_t sg_hash_seahash(const void *data, size_t len) {
  const unsigned char *p = data;
  uint64_t s[4] = {0x16f11fe89b0d677cULL, 0xb480a793d8e6c86cULL,
                   0x6fe2e5aaf078ebc9ULL, 0x14f994a4c5259381ULL};
  size_t n = len;
  while (n >= 32) {
    s[0] = diffuse(s[0] ^ load_le64(p));
    s[1] = diffuse(s[1] ^ load_le64(p + 8));
    s[2] = diffuse(s[2] ^ load_le64(p + 16));
    s[3] = diffuse(s[3] ^ load_le64(p + 24));
    p += 32;
    n -= 32;
  }
  /* The tail feeds whole words into lanes a, b, c, … in turn and the last
   * partial word into the next lane. */
  int lane = 0;
  while (n >= 8) {
    s[lane] = diffuse(s[lane] ^ load_le64(p));
    lane++;
    p += 8;
    n -= 8;
  }
  if (n > 0) s[lane] = diffuse(s[lane] ^ load_le_tail(p, n));
  uint64_t a = s[0] ^ s[1];
  uint64_t c = s[2] ^ s[3];
  a ^= c;
  a ^= (uint64_t)len;
  return diffuse(a);
}

int32_t sg_hash_kafka_murmur2(const void *data, size_t len) {
  const unsigned char *p = data;
  const uint32_t m = 0x5bd1e995;
  const int r = 24;
  uint32_t h = 0x9747b28cU ^ (uint32_t)len;
  size_t n4 = len / 4;
  for (size_t i = 0; i < n4; i++) {
    const unsigned char *q = p + 4 * i;
    uint32_t k = (uint32_t)q[0] | ((uint32_t)q[1] << 8) | ((uint32_t)q[2] << 16) |
                 ((uint32_t)q[3] << 24);
    k *= m;
    k ^= k >> r;
    k *= m;
    h *= m;
    h ^= k;
  }
  const unsigned char *t = p + (len & ~(size_t)3);
  switch (len % 4) {
    case 3: h ^= (uint32_t)t[2] << 16; /* fall through */
    case 2: h ^= (uint32_t)t[1] << 8;  /* fall through */
    case 1: h ^= t[0]; h *= m;
  }
  h ^= h >> 13;
  h *= m;
  h ^= h >> 15;
  return (int32_t)(h & 0x7fffffffU);
}

uint32_t sg_hash_crc32(const void *data, size_t len) {
  uLong c = crc32(0L, Z_NULL, 0);
  /* zlib takes uInt lengths: feed large inputs in pieces. */
  const unsigned char *p = data;
  while (len > 0) {
    uInt chunk = len > 0x40000000u ? 0x40000000u : (uInt)len;
    c = crc32(c, p, chunk);
    p += chunk;
    len -= chunk;
  }
  return (uint32_t)c;
}
