/* ffi_rows.h — part of sinkgate_ffi.h: relation schemas and row batches.
 * sinkgate_ffi.h includes the parts in order (a part may use the types of
 * those before it); its conventions hold here. */
#ifndef SINKGATE_FFI_ROWS_H
#define SINKGATE_FFI_ROWS_H
#include <stddef.h>
#include <stdint.h>

/* ---- relation schema and row batches ---- */
typedef enum sg_type {
  SG_T_BOOL = 1, SG_T_INT2, SG_T_INT4, SG_T_INT8,
  SG_T_UINT2, SG_T_UINT4, SG_T_UINT8, SG_T_OID,
  SG_T_FLOAT4, SG_T_FLOAT8, SG_T_NUMERIC,
  SG_T_TEXT, SG_T_BYTEA, SG_T_DATE, SG_T_TIME,
  SG_T_TIMESTAMP, SG_T_TIMESTAMPTZ, SG_T_INTERVAL,
  SG_T_UUID, SG_T_JSONB, SG_T_MAP, SG_T_LIST, SG_T_ARRAY, SG_T_RECORD
} sg_type;

/* A type: scalar, or nested with an element type (list, array items and
 * map values) or fields (record). Owned by the schema that made it. */
typedef struct sg_typeinfo {
  int type;          /* sg_type */
  int precision;     /* -1 when not declared */
  int scale;         /* -1 when not declared */
  const struct sg_typeinfo *elem;
  int nfields;
  const char **field_names;
  const struct sg_typeinfo **field_types;
  const int *field_nullable;
  const char *name;  /* SQL name of a record type (DOC ON TYPE), or NULL */
} sg_typeinfo;

typedef struct sg_column {
  const char *name;
  int type;          /* = ti->type, for the encoders' switch */
  int nullable;
  const sg_typeinfo *ti;
  const char *json_key;  /* "name": quoted and escaped once, for the JSON encoder */
  size_t json_key_len;
} sg_column;

typedef struct sg_schema {
  int ncols;
  int cap;
  sg_column *cols;
  void *owned;       /* type trees made for this schema */
} sg_schema;

sg_schema *sg_schema_new(void);
sg_typeinfo *sg_schema_type(sg_schema *s, int type, int precision, int scale);
void sg_type_set_elem(sg_typeinfo *t, const sg_typeinfo *elem);
int sg_type_add_field(sg_schema *s, sg_typeinfo *record, const char *name, const sg_typeinfo *ft,
                      int nullable);
int sg_type_set_name(sg_schema *s, sg_typeinfo *record, const char *name);
int sg_schema_add_column(sg_schema *s, const char *name, const sg_typeinfo *t, int nullable,
                         char *err, size_t errlen);
void sg_schema_free(sg_schema *s);

/* One value slot. Fixed-width types live in the slot; variable-width ones
 * are an (offset, length) into the batch arena, so filling a batch never
 * mallocs per value: text, bytea, jsonb and numeric (its decimal text),
 * uuid (16 bytes), interval (16 bytes: months i32, days i32, micros i64,
 * little-endian) and nested values in the packed form of core/row/packed.h. */
typedef union sg_datum {
  int64_t i;
  uint64_t u;
  double f;
  struct { uint32_t off; uint32_t len; } s;
} sg_datum;

typedef struct sg_batch {
  const sg_schema *schema;
  int ncols;
  uint32_t nrows;
  uint32_t cap;
  sg_datum *cells;      /* nrows * ncols, row-major */
  uint8_t *nulls;       /* nrows * ncols, 1 = NULL */
  uint64_t *times;      /* logical timestamp per row */
  int64_t *diffs;       /* +1 insert, -1 delete (or multiplicities) */
  char *arena;
  size_t arena_len;
  size_t arena_cap;
} sg_batch;

sg_batch *sg_batch_new(const sg_schema *s, uint32_t cap);
void sg_batch_clear(sg_batch *b);
void sg_batch_free(sg_batch *b);
/* Room for `rows` more rows and `arena` more arena bytes (0 or -1). */
int sg_batch_reserve(sg_batch *b, uint32_t rows, size_t arena);
/* Appends an all-NULL row and returns its index, or -1 when out of memory. */
int64_t sg_batch_push_row(sg_batch *b, uint64_t time, int64_t diff);
void sg_batch_set_i64(sg_batch *b, uint32_t row, int col, int64_t v);
void sg_batch_set_f64(sg_batch *b, uint32_t row, int col, double v);
int sg_batch_set_bytes(sg_batch *b, uint32_t row, int col, const void *p, size_t len);
/* Drops every row from index nrows on and the arena bytes past arena_len:
 * takes a batch back to a mark taken before a row that turned out bad. */
void sg_batch_truncate(sg_batch *b, uint32_t nrows, size_t arena_len);

#endif
