/* protobuf_schema.c — a FileDescriptorSet (parsed with protobuf-c's code
 * generated from descriptor.proto) compiled into the decoder's tables.
 *
 * Only messages reachable from the root are compiled. Recursive messages
 * are refused (as the reference does: a relation has a fixed shape), groups
 * are refused (deprecated, and the reference has no mapping for them). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "google/protobuf/descriptor.pb-c.h"
#include "protobuf.h"
#include "../util/util.h"

typedef Google__Protobuf__FileDescriptorSet FDSet;
typedef Google__Protobuf__FileDescriptorProto FileProto;
typedef Google__Protobuf__DescriptorProto MsgProto;
typedef Google__Protobuf__EnumDescriptorProto EnumProto;
typedef Google__Protobuf__FieldDescriptorProto FieldProto;

/* Every message and enum of the set under its full name (no leading dot). */
typedef struct named {
  char *name;
  const void *proto;
  int proto3;
  int state;         /* messages: 0 new, 1 being compiled (on the path), 2 done */
  int index;         /* index in d->msgs / d->enums once compiled */
} named;

typedef struct build {
  sg_pb_decoder *d;
  named *msgs;
  int nmsgs, capmsgs;
  named *enums;
  int nenums, capenums;
  char *err;
  size_t errlen;
} build;

static char *join(const char *prefix, const char *name) {
  size_t a = prefix && *prefix ? strlen(prefix) : 0, b = strlen(name);
  char *s = malloc(a + b + 2);
  if (!s) return NULL;
  if (a) {
    memcpy(s, prefix, a);
    s[a++] = '.';
  }
  memcpy(s + a, name, b + 1);
  return s;
}

static int add_named(named **v, int *n, int *cap, char *name, const void *proto, int proto3) {
  if (!name) return -1;
  if (*n == *cap) {
    int c = *cap ? *cap * 2 : 32;
    named *nv = realloc(*v, (size_t)c * sizeof *nv);
    if (!nv) {
      free(name);
      return -1;
    }
    *v = nv;
    *cap = c;
  }
  (*v)[(*n)++] = (named){ name, proto, proto3, 0, -1 };
  return 0;
}

static int collect_msg(build *B, const char *scope, const MsgProto *m, int proto3, int depth) {
  if (!m->name) return sg_fail(B->err, B->errlen, "descriptor set: a message without a name");
  if (depth > PB_MAX_DEPTH) return sg_fail(B->err, B->errlen, "descriptor set: messages declared deeper than %d", PB_MAX_DEPTH);
  char *full = join(scope, m->name);
  if (add_named(&B->msgs, &B->nmsgs, &B->capmsgs, full, m, proto3) != 0) return sg_fail(B->err, B->errlen, "out of memory");
  for (size_t i = 0; i < m->n_enum_type; i++) {
    if (!m->enum_type[i]->name) return sg_fail(B->err, B->errlen, "descriptor set: an enum without a name");
    if (add_named(&B->enums, &B->nenums, &B->capenums, join(full, m->enum_type[i]->name), m->enum_type[i], proto3) != 0)
      return sg_fail(B->err, B->errlen, "out of memory");
  }
  for (size_t i = 0; i < m->n_nested_type; i++)
    if (collect_msg(B, full, m->nested_type[i], proto3, depth + 1) != 0) return -1;
  return 0;
}

static int collect(build *B, const FDSet *set) {
  for (size_t f = 0; f < set->n_file; f++) {
    const FileProto *fp = set->file[f];
    int proto3 = fp->syntax && strcmp(fp->syntax, "proto3") == 0;
    for (size_t i = 0; i < fp->n_enum_type; i++) {
      if (!fp->enum_type[i]->name) return sg_fail(B->err, B->errlen, "descriptor set: an enum without a name");
      if (add_named(&B->enums, &B->nenums, &B->capenums, join(fp->package, fp->enum_type[i]->name), fp->enum_type[i],
                    proto3) != 0)
        return sg_fail(B->err, B->errlen, "out of memory");
    }
    for (size_t i = 0; i < fp->n_message_type; i++)
      if (collect_msg(B, fp->package, fp->message_type[i], proto3, 0) != 0) return -1;
  }
  return 0;
}

static named *lookup(named *v, int n, const char *name) {
  if (!name) return NULL;
  if (name[0] == '.') name++;
  for (int i = 0; i < n; i++)
    if (strcmp(v[i].name, name) == 0) return &v[i];
  return NULL;
}

typedef struct num_idx {
  int32_t num;
  uint32_t idx;
} num_idx;

static int cmp_num_idx(const void *a, const void *b) {
  const num_idx *x = a, *y = b;
  if (x->num != y->num) return (x->num > y->num) - (x->num < y->num);
  return (x->idx > y->idx) - (x->idx < y->idx);
}

static int compile_enum(build *B, named *e) {
  if (e->index >= 0) return e->index;
  const EnumProto *ep = e->proto;
  sg_pb_decoder *d = B->d;
  if (ep->n_value == 0) return sg_fail(B->err, B->errlen, "enum %s has no values", e->name);
  for (size_t i = 0; i < ep->n_value; i++)
    if (!ep->value[i]->name) return sg_fail(B->err, B->errlen, "enum %s: a value without a name", e->name);
  pb_enum *ne = realloc(d->enums, (size_t)(d->nenums + 1) * sizeof *ne);
  if (!ne) return sg_fail(B->err, B->errlen, "out of memory");
  d->enums = ne;
  pb_enum *en = &d->enums[d->nenums++];
  memset(en, 0, sizeof *en);
  en->full_name = strdup(e->name);
  en->first_name = strdup(ep->value[0]->name);
  en->numbers = calloc(ep->n_value, sizeof *en->numbers);
  en->names = calloc(ep->n_value, sizeof *en->names);
  num_idx *pairs = calloc(ep->n_value, sizeof *pairs);
  if (!en->full_name || !en->first_name || !en->numbers || !en->names || !pairs) {
    free(pairs);
    return sg_fail(B->err, B->errlen, "out of memory");
  }
  for (size_t i = 0; i < ep->n_value; i++) pairs[i] = (num_idx){ ep->value[i]->number, (uint32_t)i };
  qsort(pairs, ep->n_value, sizeof *pairs, cmp_num_idx);
  /* An aliased number (allow_alias) reads as its first declared name. */
  for (size_t i = 0; i < ep->n_value; i++) {
    if (en->n > 0 && en->numbers[en->n - 1] == pairs[i].num) continue;
    en->numbers[en->n] = pairs[i].num;
    en->names[en->n] = strdup(ep->value[pairs[i].idx]->name);
    if (!en->names[en->n]) {
      free(pairs);
      return sg_fail(B->err, B->errlen, "out of memory");
    }
    en->n++;
  }
  free(pairs);
  e->index = d->nenums - 1;
  return e->index;
}

/* Decodes a C-escaped bytes default (descriptor.proto: "C escaped") in place. */
static size_t unescape(char *s) {
  char *o = s;
  const char *p = s;
  while (*p) {
    if (*p != '\\' || !p[1]) {
      *o++ = *p++;
      continue;
    }
    p++;
    char c = *p++;
    switch (c) {
      case 'n': *o++ = '\n'; break;
      case 'r': *o++ = '\r'; break;
      case 't': *o++ = '\t'; break;
      case 'a': *o++ = '\a'; break;
      case 'b': *o++ = '\b'; break;
      case 'f': *o++ = '\f'; break;
      case 'v': *o++ = '\v'; break;
      case 'x': {
        unsigned v = 0;
        int k = 0;
        while (k < 2 && ((*p >= '0' && *p <= '9') || ((*p | 32) >= 'a' && (*p | 32) <= 'f'))) {
          v = v * 16 + (unsigned)(*p <= '9' ? *p - '0' : (*p | 32) - 'a' + 10);
          p++;
          k++;
        }
        *o++ = (char)v;
        break;
      }
      default:
        if (c >= '0' && c <= '7') {
          unsigned v = (unsigned)(c - '0');
          for (int k = 0; k < 2 && *p >= '0' && *p <= '7'; k++) v = v * 8 + (unsigned)(*p++ - '0');
          *o++ = (char)v;
        } else {
          *o++ = c; /* \\ \' \" \? */
        }
    }
  }
  return (size_t)(o - s);
}

/* The value of an absent field: the declared proto2 default, else zero. */
static int set_default(build *B, const char *msg, pb_field *f, const FieldProto *fp) {
  const char *dv = fp->default_value;
  if (f->type == PB_ENUM) {
    const pb_enum *en = &B->d->enums[f->en];
    f->def_s = strdup(dv ? dv : en->first_name);
    if (!f->def_s) return sg_fail(B->err, B->errlen, "out of memory");
    f->def_len = strlen(f->def_s);
    return 0;
  }
  if (f->type == PB_STRING || f->type == PB_BYTES) {
    f->def_s = strdup(dv ? dv : "");
    if (!f->def_s) return sg_fail(B->err, B->errlen, "out of memory");
    f->def_len = f->type == PB_BYTES ? unescape(f->def_s) : strlen(f->def_s);
    return 0;
  }
  if (!dv || f->type == PB_MESSAGE) return 0;
  char *end = NULL;
  errno = 0;
  switch (f->type) {
    case PB_DOUBLE: case PB_FLOAT: f->def_f = strtod(dv, &end); break;
    case PB_BOOL:
      f->def_i = strcmp(dv, "true") == 0;
      end = (char *)dv + strlen(dv);
      break;
    case PB_UINT64: case PB_FIXED64: case PB_UINT32: case PB_FIXED32:
      f->def_i = (int64_t)strtoull(dv, &end, 10);
      break;
    default: f->def_i = strtoll(dv, &end, 10); break;
  }
  if (!end || *end || errno == ERANGE)
    return sg_fail(B->err, B->errlen, "%s.%s: bad default value \"%s\"", msg, f->name, dv);
  return 0;
}

static int compile_msg(build *B, named *m, int depth);

static int compile_field(build *B, named *m, const FieldProto *fp, pb_field *f, int depth) {
  const MsgProto *mp = m->proto;
  if (!fp->name || !fp->has_number || fp->number < 1 || fp->number > 536870911)
    return sg_fail(B->err, B->errlen, "%s: a field without a valid name and number", m->name);
  f->name = strdup(fp->name);
  if (!f->name) return sg_fail(B->err, B->errlen, "out of memory");
  f->number = fp->number;
  f->type = fp->has_type ? (int)fp->type : 0;
  f->msg = f->en = f->oneof = -1;
  if (!fp->has_type && fp->type_name) {
    /* Unresolved references (descriptor sets always resolve them, hand-built ones may not). */
    f->type = lookup(B->enums, B->nenums, fp->type_name) ? PB_ENUM : PB_MESSAGE;
  }
  if (f->type == PB_GROUP) return sg_fail(B->err, B->errlen, "%s.%s: groups are not supported", m->name, f->name);
  if (f->type < PB_DOUBLE || f->type > PB_SINT64)
    return sg_fail(B->err, B->errlen, "%s.%s: unknown field type %d", m->name, f->name, f->type);
  f->repeated = fp->has_label && fp->label == GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__LABEL__LABEL_REPEATED;
  f->required = fp->has_label && fp->label == GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__LABEL__LABEL_REQUIRED;
  if (fp->has_oneof_index) {
    if (fp->oneof_index < 0 || (size_t)fp->oneof_index >= mp->n_oneof_decl)
      return sg_fail(B->err, B->errlen, "%s.%s: bad oneof index", m->name, f->name);
    f->oneof = fp->oneof_index;
  }
  f->presence = !f->repeated && (f->type == PB_MESSAGE || f->oneof >= 0 || (fp->has_proto3_optional && fp->proto3_optional) ||
                                 (!m->proto3 && !f->required));
  if (f->type == PB_MESSAGE || f->type == PB_ENUM) {
    named *t = f->type == PB_ENUM ? lookup(B->enums, B->nenums, fp->type_name) : lookup(B->msgs, B->nmsgs, fp->type_name);
    if (!t)
      return sg_fail(B->err, B->errlen, "%s.%s: type %s is not in the descriptor set", m->name, f->name,
                     fp->type_name ? fp->type_name : "(none)");
    f->type_name = strdup(t->name);
    if (!f->type_name) return sg_fail(B->err, B->errlen, "out of memory");
    if (f->type == PB_ENUM) {
      if ((f->en = compile_enum(B, t)) < 0) return -1;
    } else {
      const MsgProto *tp = t->proto;
      f->map = f->repeated && tp->options && tp->options->has_map_entry && tp->options->map_entry;
      if ((f->msg = compile_msg(B, t, depth + 1)) < 0) return -1;
    }
  }
  f->nullable = !f->repeated && (f->type == PB_MESSAGE || ((B->d->flags & SG_PB_OPTIONAL_NULL) && f->presence));
  return set_default(B, m->name, f, fp);
}

static int check_map_entry(build *B, const pb_msg *e) {
  if (e->nfields != 2 || e->fields[0].number != 1 || e->fields[1].number != 2)
    return sg_fail(B->err, B->errlen, "%s: a map entry needs fields key = 1 and value = 2", e->full_name);
  switch (e->fields[0].type) {
    case PB_DOUBLE: case PB_FLOAT: case PB_BYTES: case PB_MESSAGE: case PB_ENUM:
      return sg_fail(B->err, B->errlen, "%s: map keys cannot have this type", e->full_name);
    default: return 0;
  }
}

static int compile_msg(build *B, named *m, int depth) {
  if (m->state == 2) return m->index;
  if (m->state == 1) return sg_fail(B->err, B->errlen, "recursive types are not supported: %s", m->name);
  if (depth > PB_MAX_DEPTH) return sg_fail(B->err, B->errlen, "%s: messages nest deeper than %d", m->name, PB_MAX_DEPTH);
  const MsgProto *mp = m->proto;
  sg_pb_decoder *d = B->d;
  pb_msg *nm = realloc(d->msgs, (size_t)(d->nmsgs + 1) * sizeof *nm);
  if (!nm) return sg_fail(B->err, B->errlen, "out of memory");
  d->msgs = nm;
  int idx = d->nmsgs++;
  memset(&d->msgs[idx], 0, sizeof d->msgs[idx]);
  m->state = 1;
  /* Fields are built in a local array: compiling a field may grow d->msgs. */
  pb_field *fields = mp->n_field ? calloc(mp->n_field, sizeof *fields) : NULL;
  int32_t *by_number = mp->n_field ? calloc(mp->n_field, sizeof *by_number) : NULL;
  char *full = strdup(m->name);
  d->msgs[idx].full_name = full;
  d->msgs[idx].fields = fields;
  d->msgs[idx].by_number = by_number;
  if ((mp->n_field && (!fields || !by_number)) || !full) return sg_fail(B->err, B->errlen, "out of memory");
  d->msgs[idx].noneof = (int)mp->n_oneof_decl;
  for (size_t i = 0; i < mp->n_field; i++) {
    d->msgs[idx].nfields = (int)i + 1; /* so a failure frees what was built */
    if (compile_field(B, m, mp->field[i], &fields[i], depth) != 0) return -1;
  }
  num_idx *pairs = mp->n_field ? calloc(mp->n_field, sizeof *pairs) : NULL;
  if (mp->n_field && !pairs) return sg_fail(B->err, B->errlen, "out of memory");
  for (size_t i = 0; i < mp->n_field; i++) pairs[i] = (num_idx){ fields[i].number, (uint32_t)i };
  if (pairs) qsort(pairs, mp->n_field, sizeof *pairs, cmp_num_idx);
  for (size_t i = 0; i < mp->n_field; i++) {
    if (i > 0 && pairs[i].num == pairs[i - 1].num) {
      int32_t dup = pairs[i].num;
      free(pairs);
      return sg_fail(B->err, B->errlen, "%s: field number %d is used twice", m->name, (int)dup);
    }
    by_number[i] = (int32_t)pairs[i].idx;
  }
  free(pairs);
  /* Field names become column/record field names: protoc never repeats one,
   * a hand-made descriptor set might. */
  for (size_t i = 0; i < mp->n_field; i++)
    for (size_t j = 0; j < i; j++)
      if (strcmp(fields[i].name, fields[j].name) == 0)
        return sg_fail(B->err, B->errlen, "%s: field name %s is used twice", m->name, fields[i].name);
  /* Small field numbers (the usual case) get a direct table instead of a binary search. */
  int32_t maxnum = mp->n_field ? fields[by_number[mp->n_field - 1]].number : 0;
  if (maxnum < 1024 && mp->n_field < 32768) {
    int16_t *direct = malloc(((size_t)maxnum + 1) * sizeof *direct);
    if (!direct) return sg_fail(B->err, B->errlen, "out of memory");
    for (int32_t k = 0; k <= maxnum; k++) direct[k] = -1;
    for (size_t i = 0; i < mp->n_field; i++) direct[fields[i].number] = (int16_t)i;
    d->msgs[idx].direct = direct;
    d->msgs[idx].ndirect = maxnum + 1;
  }
  for (size_t i = 0; i < mp->n_field; i++)
    if (fields[i].map && check_map_entry(B, &d->msgs[fields[i].msg]) != 0) return -1;
  m->state = 2;
  m->index = idx;
  return idx;
}

int pb_msg_find_slow(const pb_msg *m, int32_t number) {
  int lo = 0, hi = m->nfields - 1;
  while (lo <= hi) {
    int mid = (lo + hi) / 2;
    int32_t n = m->fields[m->by_number[mid]].number;
    if (n == number) return m->by_number[mid];
    if (n < number) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

static void free_build(build *B) {
  for (int i = 0; i < B->nmsgs; i++) free(B->msgs[i].name);
  for (int i = 0; i < B->nenums; i++) free(B->enums[i].name);
  free(B->msgs);
  free(B->enums);
}

void sg_pb_decoder_free(sg_pb_decoder *d) {
  if (!d) return;
  for (int i = 0; i < d->nmsgs; i++) {
    pb_msg *m = &d->msgs[i];
    for (int j = 0; j < m->nfields; j++) {
      free(m->fields[j].name);
      free(m->fields[j].def_s);
      free(m->fields[j].type_name);
    }
    free(m->fields);
    free(m->by_number);
    free(m->direct);
    free(m->full_name);
  }
  for (int i = 0; i < d->nenums; i++) {
    for (int j = 0; j < d->enums[i].n; j++) free(d->enums[i].names[j]);
    free(d->enums[i].names);
    free(d->enums[i].numbers);
    free(d->enums[i].full_name);
    free(d->enums[i].first_name);
  }
  free(d->msgs);
  free(d->enums);
  free(d->occ);
  free(d->counts);
  sg_buf_free(&d->out);
  sg_buf_free(&d->keys);
  free(d);
}

static FDSet *parse_set(const void *fds, size_t len, char *err, size_t errlen) {
  FDSet *set = google__protobuf__file_descriptor_set__unpack(NULL, len, fds);
  if (!set) sg_fail(err, errlen, "not a FileDescriptorSet (as protoc --include_imports --descriptor_set_out writes)");
  return set;
}

sg_pb_decoder *sg_pb_decoder_new(const void *fds, size_t len, const char *message, int flags, char *err, size_t errlen) {
  if (!message || !*message) {
    sg_fail(err, errlen, "no message name");
    return NULL;
  }
  FDSet *set = parse_set(fds, len, err, errlen);
  if (!set) return NULL;
  sg_pb_decoder *d = calloc(1, sizeof *d);
  build B = { .d = d, .err = err, .errlen = errlen };
  int ok = d != NULL;
  if (ok) {
    d->flags = flags;
    d->last_id = -1;
    ok = collect(&B, set) == 0;
  } else {
    sg_fail(err, errlen, "out of memory");
  }
  if (ok) {
    named *root = lookup(B.msgs, B.nmsgs, message);
    if (!root) {
      sg_fail(err, errlen, "protobuf message \"%s\" not found in the descriptor set", message);
      ok = 0;
    } else {
      ok = compile_msg(&B, root, 0) == 0; /* the root is compiled first: index 0 */
    }
  }
  free_build(&B);
  google__protobuf__file_descriptor_set__free_unpacked(set, NULL);
  if (!ok) {
    sg_pb_decoder_free(d);
    return NULL;
  }
  return d;
}

int sg_pb_fds_messages(const void *fds, size_t len, const char *file, sg_buf *out, char *err, size_t errlen) {
  FDSet *set = parse_set(fds, len, err, errlen);
  if (!set) return -1;
  int n = -2;
  for (size_t f = 0; f < set->n_file && n == -2; f++) {
    const FileProto *fp = set->file[f];
    if (!fp->name || strcmp(fp->name, file) != 0) continue;
    n = 0;
    for (size_t i = 0; i < fp->n_message_type; i++, n++) {
      char *full = join(fp->package, fp->message_type[i]->name ? fp->message_type[i]->name : "");
      int bad = !full || sg_buf_append_slow(out, full, strlen(full)) != 0 || sg_buf_putc(out, '\n') != 0;
      free(full);
      if (bad) {
        n = sg_fail(err, errlen, "out of memory");
        break;
      }
    }
  }
  google__protobuf__file_descriptor_set__free_unpacked(set, NULL);
  if (n == -2) n = sg_fail(err, errlen, "file %s is not in the descriptor set", file);
  return n;
}

int sg_pb_decoder_flags(const sg_pb_decoder *d) { return d->flags; }

int sg_pb_decoder_nmessages(const sg_pb_decoder *d) { return d->nmsgs; }

const char *sg_pb_decoder_message_name(const sg_pb_decoder *d, int message) {
  return message >= 0 && message < d->nmsgs ? d->msgs[message].full_name : NULL;
}

int sg_pb_decoder_nfields(const sg_pb_decoder *d, int message) {
  return message >= 0 && message < d->nmsgs ? d->msgs[message].nfields : -1;
}

int sg_pb_decoder_field(const sg_pb_decoder *d, int message, int i, sg_pb_field_info *out) {
  if (message < 0 || message >= d->nmsgs || i < 0 || i >= d->msgs[message].nfields) return -1;
  const pb_field *f = &d->msgs[message].fields[i];
  *out = (sg_pb_field_info){ f->name, f->number, f->type, f->repeated, f->map, f->nullable, f->msg, f->type_name };
  return 0;
}
