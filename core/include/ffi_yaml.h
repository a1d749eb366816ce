/* ffi_yaml.h — part of sinkgate_ffi.h: the YAML node tree.
 * sinkgate_ffi.h includes the parts in order (a part may use the types of
 * those before it); its conventions hold here. */
#ifndef SINKGATE_FFI_YAML_H
#define SINKGATE_FFI_YAML_H
#include <stddef.h>
#include <stdint.h>

/* ---- YAML (libyaml) into a flat node tree with line numbers ---- */
enum { SG_Y_SCALAR = 1, SG_Y_SEQ = 2, SG_Y_MAP = 3 };
typedef struct sg_ynode {
  int kind;
  int line;          /* 1-based */
  int plain;         /* scalar written without quotes (so may be a number/bool) */
  int first_child;   /* index or -1; map children alternate key, value */
  int next_sibling;  /* index or -1 */
  uint32_t off;      /* scalar text in doc->text */
  uint32_t len;
} sg_ynode;
typedef struct sg_ydoc {
  int nnodes;
  int cap;
  sg_ynode *nodes;
  char *text;
  size_t text_len;
  size_t text_cap;
} sg_ydoc;
sg_ydoc *sg_yaml_parse(const char *src, size_t len, char *err, size_t errlen);
void sg_yaml_free(sg_ydoc *d);

#endif
