/*
 * onnx_tensor.c — ONNX tensors, attributes and strings into plain C
 * structures (onnx_tensor.h).
 *
 * Why this file exists: this is where the file's bulk data is handled, and
 * every size in it is untrusted. Dims are checked (non-negative, product at
 * most BB_OX_MAX_ELEMS) and the data's size is compared with what they need
 * before anything is allocated; raw bytes are decoded as little-endian one
 * element at a time (never cast: they may be unaligned); external data is
 * read only from a regular file that resolves inside the model's folder.
 */
#define _XOPEN_SOURCE 700 /* realpath */
#include "onnx/onnx_tensor.h"

#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum {
    T_FLOAT = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT,
    T_UINT8 = ONNX__TENSOR_PROTO__DATA_TYPE__UINT8,
    T_INT8 = ONNX__TENSOR_PROTO__DATA_TYPE__INT8,
    T_INT16 = ONNX__TENSOR_PROTO__DATA_TYPE__INT16,
    T_INT32 = ONNX__TENSOR_PROTO__DATA_TYPE__INT32,
    T_INT64 = ONNX__TENSOR_PROTO__DATA_TYPE__INT64,
    T_BOOL = ONNX__TENSOR_PROTO__DATA_TYPE__BOOL,
    T_FLOAT16 = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16,
    T_DOUBLE = ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE,
};

/* ---- strings and shapes ---------------------------------------------------- */

char *bb_oxt_strdup(const char *s, size_t cap, const bb_ox_src *src, const char *what, bb_err *err)
{
    size_t n = s ? strnlen(s, cap + 1) : 0;
    if (n > cap) {
        bb_err_set(err, "%s: %s is longer than %zu bytes", src->file, what, cap);
        return NULL;
    }
    char *d = malloc(n + 1);
    if (!d) {
        bb_err_oom(err, "%s: out of memory", src->file);
        return NULL;
    }
    if (n)
        memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

void bb_oxt_dims_str(const int64_t *dims, int ndim, char *buf, size_t len)
{
    size_t at = (size_t)snprintf(buf, len, "[");
    for (int i = 0; i < ndim && at < len; i++)
        at += (size_t)snprintf(buf + at, len - at, "%s%lld", i ? "," : "", (long long)dims[i]);
    if (at < len)
        snprintf(buf + at, len - at, "]");
}

int bb_oxt_numel(const int64_t *dims, int ndim, const bb_ox_src *src, const char *what, int64_t *numel,
                 bb_err *err)
{
    char ds[200];
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) {
        int64_t d = dims[i];
        if (d < 0) {
            bb_oxt_dims_str(dims, ndim, ds, sizeof ds);
            return bb_err_set(err, "%s: %s: dim %d of shape %s is negative", src->file, what, i, ds);
        }
        if (d > BB_OX_MAX_ELEMS || (d && n > BB_OX_MAX_ELEMS / d)) {
            bb_oxt_dims_str(dims, ndim, ds, sizeof ds);
            return bb_err_set(err, "%s: %s: shape %s holds more than %lld elements, the most a tensor may",
                              src->file, what, ds, (long long)BB_OX_MAX_ELEMS);
        }
        n *= d;
    }
    *numel = n;
    return 0;
}

/* ---- element types --------------------------------------------------------- */

/* Bytes per element in raw_data; 0 for a type that is not read. */
static int elem_size(int t)
{
    switch (t) {
    case T_FLOAT: case T_INT32: return 4;
    case T_DOUBLE: case T_INT64: return 8;
    case T_FLOAT16: case T_INT16: return 2;
    case T_INT8: case T_UINT8: case T_BOOL: return 1;
    default: return 0;
    }
}

static int is_float(int t)
{
    return t == T_FLOAT || t == T_DOUBLE || t == T_FLOAT16;
}

static const char *type_name(int t)
{
    static const char *const names[] = {"UNDEFINED", "FLOAT",  "UINT8",     "INT8",       "UINT16", "INT16",
                                        "INT32",     "INT64",  "STRING",    "BOOL",       "FLOAT16", "DOUBLE",
                                        "UINT32",    "UINT64", "COMPLEX64", "COMPLEX128", "BFLOAT16"};
    return t >= 0 && t < (int)(sizeof names / sizeof *names) ? names[t] : "unknown";
}

/* ---- decoding ----------------------------------------------------------------- */

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
    return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

/* The low `bits` bits of u as a signed number (no implementation-defined casts). */
static int64_t sext(uint64_t u, int bits)
{
    uint64_t m = (uint64_t)1 << (bits - 1);
    u &= bits == 64 ? ~(uint64_t)0 : (m << 1) - 1;
    return u & m ? -(int64_t)((m << 1) - u - 1) - 1 : (int64_t)u;
}

static float f32_of(uint32_t bits)
{
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

static float narrow(double d)
{
    if (d > FLT_MAX)
        return INFINITY;
    if (d < -FLT_MAX)
        return -INFINITY;
    return (float)d;
}

static float f64_bits(uint64_t bits)
{
    double d;
    memcpy(&d, &bits, sizeof d);
    return narrow(d);
}

/* IEEE half (binary16) to float, subnormals, infinities and NaNs included. */
static float f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 0x1fu, man = h & 0x3ffu;
    if (exp == 0x1f)
        return f32_of(sign | 0x7f800000u | man << 13);
    if (exp)
        return f32_of(sign | (exp + 112) << 23 | man << 13);
    if (!man)
        return f32_of(sign);
    uint32_t e = 113;
    while (!(man & 0x400u)) {
        man <<= 1;
        e--;
    }
    return f32_of(sign | e << 23 | (man & 0x3ffu) << 13);
}

static void raw_to_f32(const uint8_t *p, int t, int64_t n, float *o)
{
    if (t == T_FLOAT)
        for (int64_t i = 0; i < n; i++)
            o[i] = f32_of(le32(p + 4 * i));
    else if (t == T_DOUBLE)
        for (int64_t i = 0; i < n; i++)
            o[i] = f64_bits(le64(p + 8 * i));
    else
        for (int64_t i = 0; i < n; i++)
            o[i] = f16_to_f32((uint16_t)(p[2 * i] | p[2 * i + 1] << 8));
}

static void raw_to_i64(const uint8_t *p, int t, int64_t n, int64_t *o)
{
    for (int64_t i = 0; i < n; i++) {
        switch (t) {
        case T_INT64: o[i] = sext(le64(p + 8 * i), 64); break;
        case T_INT32: o[i] = sext(le32(p + 4 * i), 32); break;
        case T_INT16: o[i] = sext((uint64_t)p[2 * i] | (uint64_t)p[2 * i + 1] << 8, 16); break;
        case T_INT8: o[i] = sext(p[i], 8); break;
        case T_UINT8: o[i] = p[i]; break;
        default: o[i] = p[i] != 0; break; /* BOOL */
        }
    }
}

/* ---- the three places a tensor's data can be ---------------------------------- */

static int alloc_data(bb_ox_tensor *t, const bb_ox_src *src, bb_err *err)
{
    size_t es = t->dtype == BB_OX_F32 ? sizeof(float) : sizeof(int64_t);
    t->data = malloc(es * (size_t)(t->numel ? t->numel : 1));
    return t->data ? 0 : bb_err_oom(err, "%s: out of memory for a tensor of %lld elements", src->file,
                                    (long long)t->numel);
}

static int need_mismatch(const bb_ox_tensor *t, int type, const bb_ox_src *src, const char *what,
                         const char *holds, unsigned long long have, const char *unit, unsigned long long need,
                         bb_err *err)
{
    char ds[200];
    bb_oxt_dims_str(t->dims, t->ndim, ds, sizeof ds);
    return bb_err_set(err, "%s: %s: %s holds %llu %s; shape %s of %s needs %llu", src->file, what, holds, have,
                      unit, ds, type_name(type), need);
}

static int from_raw(const uint8_t *p, size_t len, int type, const bb_ox_src *src, const char *what,
                    const char *holds, bb_ox_tensor *t, bb_err *err)
{
    size_t need = (size_t)t->numel * (size_t)elem_size(type);
    if (len != need)
        return need_mismatch(t, type, src, what, holds, len, "bytes", need, err);
    if (alloc_data(t, src, err) != 0)
        return -1;
    if (t->dtype == BB_OX_F32)
        raw_to_f32(p, type, t->numel, t->data);
    else
        raw_to_i64(p, type, t->numel, t->data);
    return 0;
}

/* The typed field a type is stored in when there is no raw_data. */
static size_t typed_count(const Onnx__TensorProto *tp, int type, const char **field)
{
    switch (type) {
    case T_FLOAT: *field = "float_data"; return tp->n_float_data;
    case T_DOUBLE: *field = "double_data"; return tp->n_double_data;
    case T_INT64: *field = "int64_data"; return tp->n_int64_data;
    default: *field = "int32_data"; return tp->n_int32_data; /* FLOAT16 bits, INT32 and narrower, BOOL */
    }
}

static void typed_copy(const Onnx__TensorProto *tp, int type, bb_ox_tensor *t)
{
    float *f = t->data;
    int64_t *q = t->data;
    for (int64_t i = 0; i < t->numel; i++) {
        switch (type) {
        case T_FLOAT: f[i] = tp->float_data[i]; break;
        case T_DOUBLE: f[i] = narrow(tp->double_data[i]); break;
        case T_FLOAT16: f[i] = f16_to_f32((uint16_t)((uint32_t)tp->int32_data[i] & 0xffffu)); break;
        case T_INT64: q[i] = tp->int64_data[i]; break;
        case T_BOOL: q[i] = tp->int32_data[i] != 0; break;
        default: q[i] = tp->int32_data[i]; break;
        }
    }
}

static int from_typed(const Onnx__TensorProto *tp, int type, const bb_ox_src *src, const char *what,
                      bb_ox_tensor *t, bb_err *err)
{
    const char *field;
    size_t have = typed_count(tp, type, &field);
    if (have != (size_t)t->numel)
        return need_mismatch(t, type, src, what, field, have, "values", (unsigned long long)t->numel, err);
    if (alloc_data(t, src, err) != 0)
        return -1;
    typed_copy(tp, type, t);
    return 0;
}

/* ---- external data -------------------------------------------------------------- */

typedef struct {
    const char *location;
    int64_t offset, length; /* length -1: to the end of the file */
} ext_ref;

static int parse_count(const char *s, int64_t *v)
{
    int64_t x = 0;
    if (!*s)
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || x > (INT64_MAX - (*s - '0')) / 10)
            return -1;
        x = x * 10 + (*s - '0');
    }
    *v = x;
    return 0;
}

static int ext_parse(const Onnx__TensorProto *tp, const bb_ox_src *src, const char *what, ext_ref *r,
                     bb_err *err)
{
    *r = (ext_ref){NULL, 0, -1};
    for (size_t i = 0; i < tp->n_external_data; i++) {
        const char *k = tp->external_data[i]->key ? tp->external_data[i]->key : "";
        const char *v = tp->external_data[i]->value ? tp->external_data[i]->value : "";
        if (!strcmp(k, "location"))
            r->location = v;
        else if ((!strcmp(k, "offset") && parse_count(v, &r->offset) != 0) ||
                 (!strcmp(k, "length") && parse_count(v, &r->length) != 0))
            return bb_err_set(err, "%s: %s: external data %s '%.40s' is not a byte count", src->file, what, k, v);
    }
    if (!r->location || !*r->location)
        return bb_err_set(err, "%s: %s: external data without a location", src->file, what);
    if (strnlen(r->location, BB_OX_MAX_NAME + 1) > BB_OX_MAX_NAME)
        return bb_err_set(err, "%s: %s: external data location is longer than %d bytes", src->file, what,
                          BB_OX_MAX_NAME);
    return 0;
}

/* Refuses an absolute location or one with a ".." component. */
static int ext_location_ok(const char *loc, const bb_ox_src *src, const char *what, bb_err *err)
{
    if (loc[0] == '/')
        return bb_err_set(err, "%s: %s: external data location '%s' is an absolute path (it must stay inside the "
                               "model's folder)", src->file, what, loc);
    for (const char *p = loc; *p;) {
        size_t n = strcspn(p, "/");
        if (n == 2 && p[0] == '.' && p[1] == '.')
            return bb_err_set(err, "%s: %s: external data location '%s' has a '..' component (it must stay inside "
                                   "the model's folder)", src->file, what, loc);
        p += n + (p[n] == '/');
    }
    return 0;
}

/* realpath of dir/loc into *real, -1 unless it lies inside realpath(dir). */
static int ext_resolve(const char *loc, const bb_ox_src *src, const char *what, char **real, bb_err *err)
{
    char *dir = realpath(src->dir, NULL);
    if (!dir)
        return bb_err_set(err, "%s: %s: cannot resolve the model's folder '%s': %s", src->file, what, src->dir,
                          strerror(errno));
    size_t dl = strlen(dir), n = strlen(src->dir) + strlen(loc) + 2;
    char *joined = malloc(n);
    int rc = joined ? 0 : bb_err_oom(err, "%s: out of memory", src->file);
    if (joined) {
        snprintf(joined, n, "%s/%s", src->dir, loc);
        *real = realpath(joined, NULL);
        if (!*real)
            rc = bb_err_set(err, "%s: %s: cannot open external data '%s': %s", src->file, what, loc,
                            strerror(errno));
        else if (!(dl == 1 || (strncmp(*real, dir, dl) == 0 && (*real)[dl] == '/')))
            rc = bb_err_set(err, "%s: %s: external data '%s' resolves to '%.300s', outside the model's folder",
                            src->file, what, loc, *real);
        free(joined);
    }
    free(dir);
    return rc;
}

static int read_at(int fd, uint8_t *buf, size_t len, int64_t off)
{
    while (len) {
        ssize_t r = pread(fd, buf, len > ((size_t)1 << 30) ? (size_t)1 << 30 : len, (off_t)off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        buf += r, len -= (size_t)r, off += r;
    }
    return 0;
}

/* Opens the resolved file and checks the byte range: *fd on success. */
static int ext_open(const char *real, const char *loc, ext_ref *r, int64_t need, const bb_ox_src *src,
                    const char *what, int *fd, bb_err *err)
{
    struct stat st;
    *fd = open(real, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (*fd < 0)
        return bb_err_set(err, "%s: %s: cannot open external data '%s': %s", src->file, what, loc, strerror(errno));
    int64_t size = fstat(*fd, &st) == 0 && S_ISREG(st.st_mode) ? (int64_t)st.st_size : -1;
    int rc = 0;
    if (size < 0)
        rc = bb_err_set(err, "%s: %s: external data '%s' is not a regular file", src->file, what, loc);
    else if (r->length < 0 && r->offset <= size)
        r->length = size - r->offset;
    if (rc == 0 && (r->offset > size || r->length > size - r->offset))
        rc = bb_err_set(err, "%s: %s: external data '%s': offset %lld + length %lld is beyond the file's %lld bytes",
                        src->file, what, loc, (long long)r->offset, (long long)r->length, (long long)size);
    if (rc == 0 && r->length != need)
        rc = bb_err_set(err, "%s: %s: external data '%s' holds %lld bytes; the tensor needs %lld", src->file, what,
                        loc, (long long)r->length, (long long)need);
    if (rc != 0)
        close(*fd);
    return rc;
}

static int from_external(const Onnx__TensorProto *tp, int type, const bb_ox_src *src, const char *what,
                         bb_ox_tensor *t, bb_err *err)
{
    ext_ref r;
    char *real = NULL;
    int fd;
    if (!src->dir)
        return bb_err_set(err, "%s: %s: external data is refused for a model read from memory", src->file, what);
    if (ext_parse(tp, src, what, &r, err) != 0 || ext_location_ok(r.location, src, what, err) != 0 ||
        ext_resolve(r.location, src, what, &real, err) != 0)
        return free(real), -1;
    int64_t need = t->numel * elem_size(type);
    int rc = ext_open(real, r.location, &r, need, src, what, &fd, err);
    free(real);
    if (rc != 0)
        return -1;
    uint8_t *buf = malloc((size_t)(need ? need : 1));
    if (!buf)
        rc = bb_err_oom(err, "%s: %s: out of memory for %lld bytes of external data", src->file, what,
                        (long long)need);
    else if (read_at(fd, buf, (size_t)need, r.offset) != 0)
        rc = bb_err_set(err, "%s: %s: cannot read external data '%s' (I/O error or the file shrank)", src->file,
                        what, r.location);
    else
        rc = from_raw(buf, (size_t)need, type, src, what, "external data", t, err);
    free(buf);
    close(fd);
    return rc;
}

/* ---- tensors ------------------------------------------------------------------------ */

static int tensor_shape(const Onnx__TensorProto *tp, int type, const bb_ox_src *src, const char *what,
                        bb_ox_tensor *t, bb_err *err)
{
    if (!elem_size(type))
        return bb_err_set(err, "%s: %s: element type %s (%d) is not supported (FLOAT, FLOAT16, DOUBLE, INT64, "
                               "INT32, INT16, INT8, UINT8 and BOOL are)", src->file, what, type_name(type), type);
    if (tp->n_dims > BB_OX_MAX_DIMS)
        return bb_err_set(err, "%s: %s: %zu dims, at most %d", src->file, what, tp->n_dims, BB_OX_MAX_DIMS);
    t->dtype = is_float(type) ? BB_OX_F32 : BB_OX_I64;
    t->ndim = (int)tp->n_dims;
    for (int i = 0; i < t->ndim; i++)
        t->dims[i] = tp->dims[i];
    return bb_oxt_numel(t->dims, t->ndim, src, what, &t->numel, err);
}

int bb_oxt_tensor(const Onnx__TensorProto *tp, const bb_ox_src *src, const char *what, bb_ox_tensor *out,
                  bb_err *err)
{
    memset(out, 0, sizeof *out);
    int type = tp->has_data_type ? tp->data_type : 0;
    if (tensor_shape(tp, type, src, what, out, err) != 0)
        return -1;
    size_t typed = tp->n_float_data + tp->n_int32_data + tp->n_string_data + tp->n_int64_data +
                   tp->n_double_data + tp->n_uint64_data;
    int rc;
    if (tp->segment)
        rc = bb_err_set(err, "%s: %s: segmented tensors are not supported", src->file, what);
    else if (tp->has_data_location && tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL)
        rc = from_external(tp, type, src, what, out, err);
    else if (tp->has_raw_data && typed)
        rc = bb_err_set(err, "%s: %s: holds both raw_data and typed data", src->file, what);
    else if (tp->has_raw_data)
        rc = from_raw(tp->raw_data.data, tp->raw_data.len, type, src, what, "raw_data", out, err);
    else
        rc = from_typed(tp, type, src, what, out, err);
    if (rc != 0)
        bb_oxt_tensor_free(out);
    return rc;
}

void bb_oxt_tensor_free(bb_ox_tensor *t)
{
    if (t) {
        free(t->data);
        memset(t, 0, sizeof *t);
    }
}

/* ---- attributes ------------------------------------------------------------------------ */

/* The attribute's type; files of IR version 1 leave it out (then it is what is set). */
static int attr_type(const Onnx__AttributeProto *ap)
{
    if (ap->has_type && ap->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__UNDEFINED)
        return ap->type;
    return ap->has_f ? ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT
         : ap->has_i ? ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT
         : ap->has_s ? ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING
         : ap->t ? ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR
         : ap->n_floats ? ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS
         : ap->n_ints ? ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS
                      : ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__UNDEFINED;
}

static int attr_string(const Onnx__AttributeProto *ap, const bb_ox_src *src, const char *what, bb_ox_attr *a,
                       bb_err *err)
{
    size_t n = ap->s.len;
    if (n > BB_OX_MAX_STRING)
        return bb_err_set(err, "%s: %s: a string of %zu bytes, at most %d", src->file, what, n, BB_OX_MAX_STRING);
    if (n && memchr(ap->s.data, '\0', n))
        return bb_err_set(err, "%s: %s: the string holds a NUL byte", src->file, what);
    if (!(a->s = malloc(n + 1)))
        return bb_err_oom(err, "%s: out of memory", src->file);
    if (n)
        memcpy(a->s, ap->s.data, n);
    a->s[n] = '\0';
    return 0;
}

/* A malloc'd copy of n values of es bytes (NULL with a message on failure). */
static void *copy_list(size_t n, const void *from, size_t es, int *count, const bb_ox_src *src, const char *what,
                       bb_err *err)
{
    if (n > INT_MAX) {
        bb_err_set(err, "%s: %s: %zu values, too many", src->file, what, n);
        return NULL;
    }
    void *to = malloc(es * (n ? n : 1));
    if (!to) {
        bb_err_oom(err, "%s: out of memory", src->file);
        return NULL;
    }
    if (n)
        memcpy(to, from, es * n);
    *count = (int)n;
    return to;
}

static int attr_tensor(const Onnx__AttributeProto *ap, const bb_ox_src *src, const char *what, bb_ox_attr *a,
                       bb_err *err)
{
    if (!ap->t)
        return bb_err_set(err, "%s: %s: a TENSOR attribute without a tensor", src->file, what);
    if (!(a->t = calloc(1, sizeof *a->t)))
        return bb_err_oom(err, "%s: out of memory", src->file);
    return bb_oxt_tensor(ap->t, src, what, a->t, err);
}

int bb_oxt_attr(const Onnx__AttributeProto *ap, const bb_ox_src *src, const char *where, bb_ox_attr *a,
                bb_err *err)
{
    char what[700];
    memset(a, 0, sizeof *a);
    snprintf(what, sizeof what, "%s: an attribute name", where);
    if (!(a->name = bb_oxt_strdup(ap->name, BB_OX_MAX_NAME, src, what, err)))
        return -1;
    if (!a->name[0])
        return bb_err_set(err, "%s: %s: an attribute without a name", src->file, where);
    snprintf(what, sizeof what, "%s: attribute '%.200s'", where, a->name);
    switch (attr_type(ap)) {
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT: a->type = BB_OX_ATTR_FLOAT, a->f = ap->f; return 0;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT: a->type = BB_OX_ATTR_INT, a->i = ap->i; return 0;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING:
        a->type = BB_OX_ATTR_STRING;
        return attr_string(ap, src, what, a, err);
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR:
        a->type = BB_OX_ATTR_TENSOR;
        return attr_tensor(ap, src, what, a, err);
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS:
        a->type = BB_OX_ATTR_FLOATS;
        a->floats = copy_list(ap->n_floats, ap->floats, sizeof(float), &a->n, src, what, err);
        return a->floats ? 0 : -1;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS:
        a->type = BB_OX_ATTR_INTS;
        a->ints = copy_list(ap->n_ints, ap->ints, sizeof(int64_t), &a->n, src, what, err);
        return a->ints ? 0 : -1;
    default: a->type = BB_OX_ATTR_OTHER; return 0;
    }
}

static void *dup_bytes(const void *p, size_t n)
{
    void *q = malloc(n ? n : 1);
    if (q && n)
        memcpy(q, p, n);
    return q;
}

int bb_oxt_attr_copy(const bb_ox_attr *a, bb_ox_attr *out)
{
    *out = (bb_ox_attr){.type = a->type == BB_OX_ATTR_GRAPH ? BB_OX_ATTR_OTHER : a->type, .f = a->f, .i = a->i,
                        .n = a->n};
    int ok = !!(out->name = dup_bytes(a->name, strlen(a->name) + 1));
    if (ok && a->s)
        ok = !!(out->s = dup_bytes(a->s, strlen(a->s) + 1));
    if (ok && a->floats)
        ok = !!(out->floats = dup_bytes(a->floats, sizeof(float) * (size_t)a->n));
    if (ok && a->ints)
        ok = !!(out->ints = dup_bytes(a->ints, sizeof(int64_t) * (size_t)a->n));
    if (ok && a->t) {
        size_t es = a->t->dtype == BB_OX_F32 ? sizeof(float) : sizeof(int64_t);
        ok = (out->t = dup_bytes(a->t, sizeof *a->t)) != NULL;
        if (ok)
            out->t->data = NULL;
        if (ok && a->t->data)
            ok = !!(out->t->data = dup_bytes(a->t->data, es * (size_t)a->t->numel));
    }
    return ok ? 0 : -1;
}

void bb_oxt_attr_free(bb_ox_attr *a)
{
    if (!a)
        return;
    free(a->name);
    free(a->s);
    if (a->t)
        bb_oxt_tensor_free(a->t);
    free(a->t);
    free(a->floats);
    free(a->ints);
    memset(a, 0, sizeof *a);
}
