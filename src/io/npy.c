/*
 * npy.c — the .npy reader and writer (see npy.h).
 *
 * Why this file exists: it is the one place .npy files are parsed. Layout:
 * "\x93NUMPY", major, minor, header length (u16 LE for v1.0, u32 LE for
 * v2.0), then an ASCII Python dict literal such as
 *   {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
 * padded with spaces and a newline, then the raw little-endian data. The
 * dict is parsed by a small hand-written recursive-descent parser that
 * accepts exactly the three keys NumPy writes, in any order.
 */
#include "io/npy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char MAGIC[6] = {'\x93', 'N', 'U', 'M', 'P', 'Y'};

int64_t bb_npy_numel(const bb_npy *a)
{
    int64_t n = 1;
    for (int i = 0; i < a->ndim; i++)
        n *= a->dims[i];
    return n;
}

void bb_npy_free(bb_npy *a)
{
    if (!a)
        return;
    free(a->data);
    memset(a, 0, sizeof *a);
}

/* "[2,3,224,224]" */
static const char *shape_str(int ndim, const int64_t *dims, char *buf, size_t size)
{
    size_t k = (size_t)snprintf(buf, size, "[");
    for (int i = 0; i < ndim && k < size; i++)
        k += (size_t)snprintf(buf + k, size - k, "%s%lld", i ? "," : "", (long long)dims[i]);
    if (k < size)
        snprintf(buf + k, size - k, "]");
    return buf;
}

/* Bytes a float32 array of this shape needs, or -1 if that overflows. */
static int64_t shape_bytes(int ndim, const int64_t *dims)
{
    int64_t b = 4;
    for (int i = 0; i < ndim; i++) {
        if (dims[i] < 0 || (dims[i] > 0 && b > INT64_MAX / dims[i]))
            return -1;
        b *= dims[i];
    }
    return b;
}

/* ---- header dict parser ------------------------------------------------- */

typedef struct {
    const char *path;
    const char *s, *p, *end; /* header text, cursor, end */
    bb_err *err;
    char descr[32];
    int fortran;
    int ndim;
    int64_t dims[BB_NPY_MAX_DIMS];
    int seen_descr, seen_fortran, seen_shape;
} parser;

static int fail(parser *ps, const char *what)
{
    return bb_err_set(ps->err, "%s: header dict unparsable: %s at header byte %zu", ps->path,
                      what, (size_t)(ps->p - ps->s));
}

static void skip_ws(parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' ||
                               *ps->p == '\r'))
        ps->p++;
}

/* Consumes c (after whitespace) if it is next. */
static int accept(parser *ps, char c)
{
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == c) {
        ps->p++;
        return 1;
    }
    return 0;
}

/* A quoted Python string into out; backslash escapes copied literally. */
static int parse_str(parser *ps, char *out, size_t cap)
{
    skip_ws(ps);
    if (ps->p >= ps->end || (*ps->p != '\'' && *ps->p != '"'))
        return fail(ps, "expected a quoted string");
    char q = *ps->p++;
    size_t n = 0;
    while (ps->p < ps->end && *ps->p != q) {
        if (*ps->p == '\\' && ps->p + 1 < ps->end)
            ps->p++;
        if (n + 1 >= cap)
            return fail(ps, "string too long");
        out[n++] = *ps->p++;
    }
    if (ps->p >= ps->end)
        return fail(ps, "unterminated string");
    ps->p++;
    out[n] = '\0';
    return 0;
}

static int match_word(parser *ps, const char *w)
{
    size_t n = strlen(w);
    if ((size_t)(ps->end - ps->p) >= n && memcmp(ps->p, w, n) == 0) {
        ps->p += n;
        return 1;
    }
    return 0;
}

static int parse_bool(parser *ps, int *out)
{
    skip_ws(ps);
    if (match_word(ps, "True"))
        *out = 1;
    else if (match_word(ps, "False"))
        *out = 0;
    else
        return fail(ps, "fortran_order is not True or False");
    return 0;
}

/* A (possibly negative) decimal integer, optional Python 2 'L' suffix. */
static int parse_int(parser *ps, int64_t *out)
{
    skip_ws(ps);
    int neg = ps->p < ps->end && *ps->p == '-';
    ps->p += neg;
    if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9')
        return fail(ps, "expected an integer in shape");
    int64_t v = 0;
    for (; ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9'; ps->p++) {
        int d = *ps->p - '0';
        if (v > (INT64_MAX - d) / 10)
            return bb_err_set(ps->err, "%s: shape dimension overflows int64", ps->path);
        v = v * 10 + d;
    }
    if (ps->p < ps->end && *ps->p == 'L')
        ps->p++;
    if (neg && v != 0)
        return bb_err_set(ps->err, "%s: negative dimension -%lld in shape", ps->path,
                          (long long)v);
    *out = v;
    return 0;
}

/* (), (5,), (2, 3), (2, 3,) */
static int parse_shape(parser *ps)
{
    if (!accept(ps, '('))
        return fail(ps, "shape is not a tuple");
    ps->ndim = 0;
    while (!accept(ps, ')')) {
        if (ps->ndim == BB_NPY_MAX_DIMS)
            return bb_err_set(ps->err, "%s: shape has more than %d dims", ps->path,
                              BB_NPY_MAX_DIMS);
        if (parse_int(ps, &ps->dims[ps->ndim]) != 0)
            return -1;
        ps->ndim++;
        if (!accept(ps, ',')) {
            if (!accept(ps, ')'))
                return fail(ps, "expected ',' or ')' in shape");
            break;
        }
    }
    return 0;
}

static int parse_value(parser *ps, const char *key)
{
    int *seen = !strcmp(key, "descr")           ? &ps->seen_descr
                : !strcmp(key, "fortran_order") ? &ps->seen_fortran
                : !strcmp(key, "shape")         ? &ps->seen_shape
                                                : NULL;
    if (!seen)
        return bb_err_set(ps->err, "%s: header has unexpected key '%s'", ps->path, key);
    if ((*seen)++)
        return bb_err_set(ps->err, "%s: header has key '%s' twice", ps->path, key);
    if (seen == &ps->seen_descr) {
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p != '\'' && *ps->p != '"')
            return bb_err_set(ps->err, "%s: descr is not a simple dtype string "
                              "(structured arrays are not supported)", ps->path);
        return parse_str(ps, ps->descr, sizeof ps->descr);
    }
    if (seen == &ps->seen_fortran)
        return parse_bool(ps, &ps->fortran);
    return parse_shape(ps);
}

static int parse_dict(parser *ps)
{
    if (!accept(ps, '{'))
        return fail(ps, "expected '{'");
    while (!accept(ps, '}')) {
        char key[32];
        if (parse_str(ps, key, sizeof key) != 0)
            return -1;
        if (!accept(ps, ':'))
            return fail(ps, "expected ':'");
        if (parse_value(ps, key) != 0)
            return -1;
        if (!accept(ps, ',')) {
            if (!accept(ps, '}'))
                return fail(ps, "expected ',' or '}'");
            break;
        }
    }
    skip_ws(ps);
    if (ps->p != ps->end)
        return fail(ps, "unexpected text after the dict");
    return 0;
}

/* Parses and checks the header: only '<f4', C order, sane shape. */
static int check_header(parser *ps)
{
    char sh[256];
    if (parse_dict(ps) != 0)
        return -1;
    if (!ps->seen_descr || !ps->seen_fortran || !ps->seen_shape)
        return bb_err_set(ps->err, "%s: header dict is missing '%s'", ps->path,
                          !ps->seen_descr ? "descr" : !ps->seen_fortran ? "fortran_order"
                                                                         : "shape");
    if (strcmp(ps->descr, "<f4") != 0)
        return bb_err_set(ps->err, "%s: dtype '%s', expected float32 '<f4'", ps->path,
                          ps->descr);
    if (ps->fortran)
        return bb_err_set(ps->err, "%s: fortran_order True is not supported (C order only)",
                          ps->path);
    if (shape_bytes(ps->ndim, ps->dims) < 0)
        return bb_err_set(ps->err, "%s: shape %s: size overflows", ps->path,
                          shape_str(ps->ndim, ps->dims, sh, sizeof sh));
    return 0;
}

/* ---- reader ------------------------------------------------------------- */

/* Reads the preamble; *hlen and *hstart get the header length and offset. */
static int read_preamble(FILE *f, const char *path, int64_t fsize, uint32_t *hlen,
                         long *hstart, bb_err *err)
{
    unsigned char b[12];
    if (fsize < 10 || fread(b, 1, 10, f) != 10 || memcmp(b, MAGIC, 6) != 0)
        return bb_err_set(err, "%s: bad magic (not a .npy file)", path);
    if ((b[6] != 1 && b[6] != 2) || b[7] != 0)
        return bb_err_set(err, "%s: unsupported .npy version %d.%d (1.0 and 2.0 are)", path,
                          b[6], b[7]);
    if (b[6] == 1) {
        *hlen = (uint32_t)b[8] | (uint32_t)b[9] << 8;
        *hstart = 10;
    } else {
        if (fread(b + 10, 1, 2, f) != 2)
            return bb_err_set(err, "%s: file ends inside the v2.0 preamble", path);
        *hlen = (uint32_t)b[8] | (uint32_t)b[9] << 8 | (uint32_t)b[10] << 16 |
                (uint32_t)b[11] << 24;
        *hstart = 12;
    }
    if ((int64_t)*hlen > fsize - *hstart)
        return bb_err_set(err, "%s: header length %u is beyond the file (%lld bytes)", path,
                          *hlen, (long long)fsize);
    return 0;
}

static int read_header(FILE *f, parser *ps, uint32_t hlen)
{
    char *h = malloc(hlen ? hlen : 1);
    if (!h)
        return bb_err_set(ps->err, "%s: out of memory for a %u-byte header", ps->path, hlen);
    int rc;
    if (fread(h, 1, hlen, f) != hlen) {
        rc = bb_err_set(ps->err, "%s: cannot read header: %s", ps->path, strerror(errno));
    } else {
        ps->s = ps->p = h;
        ps->end = h + hlen;
        rc = check_header(ps);
    }
    free(h);
    return rc;
}

static void le_to_host(float *v, int64_t n)
{
    const unsigned char *b = (const unsigned char *)v;
    for (int64_t i = 0; i < n; i++, b += 4) {
        uint32_t u = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
                     (uint32_t)b[3] << 24;
        memcpy(&v[i], &u, 4);
    }
}

static int read_data(FILE *f, const parser *ps, int64_t have, bb_npy *out, bb_err *err)
{
    char sh[256];
    int64_t need = shape_bytes(ps->ndim, ps->dims);
    if (have != need)
        return bb_err_set(err, "%s: %s: shape %s needs %lld bytes, file has %lld", ps->path,
                          have < need ? "truncated" : "trailing extra data",
                          shape_str(ps->ndim, ps->dims, sh, sizeof sh), (long long)need,
                          (long long)have);
    out->data = malloc(need ? (size_t)need : 4);
    if (!out->data)
        return bb_err_set(err, "%s: out of memory for %lld bytes", ps->path, (long long)need);
    if (fread(out->data, 1, (size_t)need, f) != (size_t)need)
        return bb_err_set(err, "%s: cannot read data: %s", ps->path, strerror(errno));
    le_to_host(out->data, need / 4);
    out->ndim = ps->ndim;
    memcpy(out->dims, ps->dims, sizeof out->dims);
    return 0;
}

int bb_npy_read(const char *path, bb_npy *out, bb_err *err)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f)
        return bb_err_set(err, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    parser ps = {.path = path, .err = err};
    uint32_t hlen = 0;
    long hstart = 0;
    int rc;
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode))
        rc = bb_err_set(err, "%s: not a regular file", path);
    else
        rc = read_preamble(f, path, (int64_t)sb.st_size, &hlen, &hstart, err);
    if (rc == 0)
        rc = read_header(f, &ps, hlen);
    if (rc == 0)
        rc = read_data(f, &ps, (int64_t)sb.st_size - hstart - (int64_t)hlen, out, err);
    fclose(f);
    if (rc != 0)
        bb_npy_free(out);
    return rc;
}

/* ---- writer ------------------------------------------------------------- */

/* The v1.0 preamble + header, padded so the data starts at a multiple of 64. */
static size_t build_header(char *buf, size_t cap, int ndim, const int64_t *dims)
{
    char shape[256];
    size_t k = (size_t)snprintf(shape, sizeof shape, "(");
    for (int i = 0; i < ndim; i++)
        k += (size_t)snprintf(shape + k, sizeof shape - k, "%s%lld", i ? ", " : "",
                              (long long)dims[i]);
    snprintf(shape + k, sizeof shape - k, "%s)", ndim == 1 ? "," : "");
    int n = snprintf(buf + 10, cap - 10, "{'descr': '<f4', 'fortran_order': False, "
                     "'shape': %s, }", shape);
    size_t total = (10 + (size_t)n + 1 + 63) / 64 * 64; /* +1 for the '\n' */
    memset(buf + 10 + n, ' ', total - 10 - (size_t)n - 1);
    buf[total - 1] = '\n';
    memcpy(buf, MAGIC, 6);
    buf[6] = 1;
    buf[7] = 0;
    buf[8] = (char)((total - 10) & 0xff);
    buf[9] = (char)((total - 10) >> 8);
    return total;
}

static int write_le_floats(FILE *f, const float *v, int64_t n)
{
    unsigned char buf[4096];
    while (n > 0) {
        int64_t k = n < (int64_t)(sizeof buf / 4) ? n : (int64_t)(sizeof buf / 4);
        for (int64_t i = 0; i < k; i++) {
            uint32_t u;
            memcpy(&u, &v[i], 4);
            for (int b = 0; b < 4; b++)
                buf[4 * i + b] = (unsigned char)(u >> (8 * b));
        }
        if (fwrite(buf, 4, (size_t)k, f) != (size_t)k)
            return -1;
        v += k;
        n -= k;
    }
    return 0;
}

static int write_tmp(const char *tmp, const char *hdr, size_t hlen, const float *data,
                     int64_t n)
{
    FILE *f = fopen(tmp, "wb");
    if (!f)
        return -1;
    int rc = fwrite(hdr, 1, hlen, f) == hlen ? write_le_floats(f, data, n) : -1;
    if (fclose(f) != 0)
        rc = -1;
    return rc;
}

int bb_npy_write(const char *path, int ndim, const int64_t *dims, const float *data,
                 bb_err *err)
{
    char sh[256];
    if (ndim < 0 || ndim > BB_NPY_MAX_DIMS || (ndim > 0 && !dims))
        return bb_err_set(err, "%s: cannot write: ndim %d (0..%d supported)", path, ndim,
                          BB_NPY_MAX_DIMS);
    int64_t bytes = shape_bytes(ndim, dims);
    if (bytes < 0)
        return bb_err_set(err, "%s: cannot write: shape %s is negative or overflows", path,
                          shape_str(ndim, dims, sh, sizeof sh));
    if (bytes > 0 && !data)
        return bb_err_set(err, "%s: cannot write: no data", path);
    char hdr[512];
    size_t hlen = build_header(hdr, sizeof hdr, ndim, dims);
    char *tmp = malloc(strlen(path) + 5);
    if (!tmp)
        return bb_err_set(err, "%s: out of memory", path);
    sprintf(tmp, "%s.tmp", path);
    int rc = 0;
    if (write_tmp(tmp, hdr, hlen, data, bytes / 4) != 0 || rename(tmp, path) != 0) {
        rc = bb_err_set(err, "%s: cannot write: %s", path, strerror(errno));
        unlink(tmp);
    }
    free(tmp);
    return rc;
}
