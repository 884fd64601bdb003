/*
 * onnx_model.c — reads an ONNX file into the plain structures of
 * onnx_model.h and checks its graph (tensors and attributes are converted
 * by onnx_tensor.c).
 *
 * Why this file exists: an ONNX file is untrusted input, and protobuf-c
 * unpacks whatever it is given: messages nested as deep as the bytes allow
 * (its parser recurses), a message field repeated a million times (it
 * merges each into the last, quadratic), names of any length, nodes reading
 * values nothing defines. So the bytes are walked once first (nesting depth,
 * repeated single message fields, what unpacking would allocate), then
 * unpacked, then every value is numbered and checked: each node input is
 * defined before it is read (which rules out cycles), each value is
 * produced once, every graph output exists. The first problem found is the
 * error, "<file>: what, where".
 */
#include "onnx/onnx_model.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "onnx/onnx.pb-c.h"
#include "onnx/onnx_tensor.h"

#define MAX_FILE_BYTES ((size_t)INT32_MAX) /* protobuf's limit on one message: 2 GiB */
#define WIRE_MAX_DEPTH 64                  /* nested messages (protobuf's own default limit is 100) */
#define WIRE_MAX_UNPACKED ((size_t)1 << 30) /* bytes of structures unpacking may allocate */
#define WIRE_STRING_COST 32                 /* what unpacking one string or bytes field costs */

/* ---- the wire walk, before protobuf-c sees the bytes ---------------------------- */

typedef struct {
    const char *file;
    size_t unpacked; /* estimated bytes of structures protobuf-c will allocate */
    bb_err *err;
} wire_walk;

static int wire_message(const ProtobufCMessageDescriptor *d, const uint8_t *p, size_t len, int depth,
                        wire_walk *w);

static int wire_malformed(const wire_walk *w)
{
    return bb_err_set(w->err, "%s: not an ONNX model (protobuf parse failed)", w->file);
}

static int wire_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    uint64_t r = 0;
    for (int shift = 0; shift < 64 && *p < end; shift += 7) {
        uint8_t b = *(*p)++;
        r |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = r;
            return 0;
        }
    }
    return -1;
}

/* One length-delimited field of message d: descends into sub-messages and
 * refuses a single (non-repeated) message field given twice. */
static int wire_field(const ProtobufCMessageDescriptor *d, uint64_t id, const uint8_t *p, size_t len, int depth,
                      uint64_t *seen, wire_walk *w)
{
    const ProtobufCFieldDescriptor *f =
        id <= UINT32_MAX ? protobuf_c_message_descriptor_get_field(d, (unsigned)id) : NULL;
    if (!f || f->type != PROTOBUF_C_TYPE_MESSAGE) {
        w->unpacked += WIRE_STRING_COST;
        return 0;
    }
    if (f->label != PROTOBUF_C_LABEL_REPEATED) {
        size_t i = (size_t)(f - d->fields);
        uint64_t bit = i < 64 ? (uint64_t)1 << i : 0;
        if (*seen & bit)
            return bb_err_set(w->err, "%s: field '%s' of %s appears twice (no ONNX writer does that)", w->file,
                              f->name, d->name);
        *seen |= bit;
    }
    return wire_message(f->descriptor, p, len, depth + 1, w);
}

static int wire_message(const ProtobufCMessageDescriptor *d, const uint8_t *p, size_t len, int depth,
                        wire_walk *w)
{
    const uint8_t *end = p + len;
    uint64_t seen = 0;
    if (depth > WIRE_MAX_DEPTH)
        return bb_err_set(w->err, "%s: protobuf messages nested more than %d deep (at %s)", w->file,
                          WIRE_MAX_DEPTH, d->name);
    w->unpacked += d->sizeof_message;
    if (w->unpacked > WIRE_MAX_UNPACKED)
        return bb_err_set(w->err, "%s: too many protobuf messages and strings (more than %zu MiB unpacked)",
                          w->file, WIRE_MAX_UNPACKED >> 20);
    while (p < end) {
        uint64_t key, n = 0;
        if (wire_varint(&p, end, &key) != 0)
            return wire_malformed(w);
        int wt = (int)(key & 7);
        if ((wt == 0 || wt == 2) && wire_varint(&p, end, &n) != 0)
            return wire_malformed(w);
        if (wt == 0)
            continue;
        if (wt == 1 || wt == 5)
            n = wt == 1 ? 8 : 4;
        else if (wt != 2)
            return wire_malformed(w);
        if (n > (uint64_t)(end - p))
            return wire_malformed(w);
        if (wt == 2 && wire_field(d, key >> 3, p, (size_t)n, depth, &seen, w) != 0)
            return -1;
        p += n;
    }
    return 0;
}

/* ---- the file ------------------------------------------------------------------------ */

static int read_all(int fd, const char *path, size_t size, uint8_t **buf, bb_err *err)
{
    uint8_t *b = malloc(size ? size : 1);
    if (!b)
        return bb_err_oom(err, "%s: out of memory for %zu bytes", path, size);
    for (size_t at = 0; at < size;) {
        ssize_t r = read(fd, b + at, size - at > ((size_t)1 << 30) ? (size_t)1 << 30 : size - at);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            free(b);
            return r < 0 ? bb_err_set(err, "%s: cannot read: %s", path, strerror(errno))
                         : bb_err_set(err, "%s: cannot read: the file shrank while it was read", path);
        }
        at += (size_t)r;
    }
    *buf = b;
    return 0;
}

static int read_file(const char *path, uint8_t **buf, size_t *len, bb_err *err)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK); /* a FIFO must not block the open */
    if (fd < 0)
        return bb_err_set(err, "%s: cannot open: %s", path, strerror(errno));
    int rc;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        rc = bb_err_set(err, "%s: not a regular file", path);
    else if ((unsigned long long)st.st_size > MAX_FILE_BYTES)
        rc = bb_err_set(err, "%s: %lld bytes, more than protobuf's 2 GiB limit (larger models keep their weights "
                             "in external data files)", path, (long long)st.st_size);
    else
        rc = read_all(fd, path, (size_t)st.st_size, buf, err);
    if (rc == 0)
        *len = (size_t)st.st_size;
    close(fd);
    return rc;
}

/* The folder holding path ("." for a bare file name), malloc'd. */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    size_t n = !slash ? 0 : slash == path ? 1 : (size_t)(slash - path);
    char *d = malloc(n ? n + 1 : 2);
    if (d) {
        memcpy(d, n ? path : ".", n ? n : 1);
        d[n ? n : 1] = '\0';
    }
    return d;
}

/* ---- value names: an open-addressing hash index --------------------------------------- */

typedef struct {
    int *slot; /* value index + 1; 0 empty; IX_GONE a name that left scope */
    size_t mask;
} name_index;

#define IX_GONE (-1)

static size_t name_hash(const char *s)
{
    uint64_t h = 1469598103934665603u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    return (size_t)h;
}

static int ix_find(const name_index *ix, const bb_ox_model *m, const char *name)
{
    for (size_t i = name_hash(name) & ix->mask; ix->slot[i]; i = (i + 1) & ix->mask)
        if (ix->slot[i] > 0 && !strcmp(m->values[ix->slot[i] - 1].name, name))
            return ix->slot[i] - 1;
    return -1;
}

static void ix_put(name_index *ix, const char *name, int v)
{
    size_t i = name_hash(name) & ix->mask;
    while (ix->slot[i])
        i = (i + 1) & ix->mask;
    ix->slot[i] = v + 1;
}

/* Value v's name leaves scope (the end of the subgraph defining it). */
static void ix_drop(name_index *ix, const bb_ox_model *m, int v)
{
    for (size_t i = name_hash(m->values[v].name) & ix->mask; ix->slot[i]; i = (i + 1) & ix->mask)
        if (ix->slot[i] == v + 1) {
            ix->slot[i] = IX_GONE;
            return;
        }
}

/* ---- building the model -------------------------------------------------------------- */

typedef struct {
    bb_ox_model *m;
    const Onnx__GraphProto *g; /* the main graph */
    bb_ox_src src;
    name_index ix;
    bb_err *err;
} builder;

/* A value's producer when it is not a main-graph node's output or an input
 * or initializer of the main graph. */
enum { PRODUCER_SUBGRAPH_NODE = -2, PRODUCER_SUBGRAPH_INPUT = -3 };

static void *xcalloc(size_t n, size_t size)
{
    return calloc(n ? n : 1, size);
}

static int oom(const builder *b)
{
    return bb_err_oom(b->err, "%s: out of memory", b->src.file);
}

/* Numbers `name` as a new value (its name checked and copied). */
static int add_value(builder *b, const char *name, const char *what, int producer)
{
    char *copy = bb_oxt_strdup(name, BB_OX_MAX_NAME, &b->src, what, b->err);
    if (!copy)
        return -1;
    int v = b->m->n_values++;
    b->m->values[v] = (bb_ox_value){copy, -1, producer};
    ix_put(&b->ix, copy, v);
    return v;
}

static int is_graph_attr(const Onnx__AttributeProto *ap)
{
    return ap->g && ap->has_type && ap->type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH;
}

/* What graph g and the subgraphs of its nodes define: values,
 * initializers, subgraphs (the wire walk has bounded their nesting; each
 * is distinct bytes of the file, so the counts stay below its size). */
typedef struct {
    size_t values, inits, graphs;
} census;

static void count_graph(const Onnx__GraphProto *g, census *c)
{
    c->values += g->n_input + g->n_initializer;
    c->inits += g->n_initializer;
    for (size_t k = 0; k < g->n_node; k++) {
        c->values += g->node[k]->n_output;
        for (size_t i = 0; i < g->node[k]->n_attribute; i++)
            if (is_graph_attr(g->node[k]->attribute[i]))
                c->graphs++, count_graph(g->node[k]->attribute[i]->g, c);
    }
}

/* Room for every value, initializer and subgraph the model could name, and
 * the values' index. */
static int values_alloc(builder *b)
{
    census c = {0, 0, 0};
    count_graph(b->g, &c);
    if (c.values > INT_MAX / 4 || c.graphs > INT_MAX / 4)
        return bb_err_set(b->err, "%s: the graph has too many values", b->src.file);
    size_t cap = 16;
    while (cap < 2 * c.values)
        cap <<= 1;
    bb_ox_model *m = b->m;
    m->values = xcalloc(c.values, sizeof *m->values);
    m->inits = xcalloc(c.inits, sizeof *m->inits);
    m->init_value = xcalloc(c.inits, sizeof *m->init_value);
    m->graphs = xcalloc(c.graphs, sizeof *m->graphs);
    b->ix.slot = calloc(cap, sizeof *b->ix.slot);
    b->ix.mask = cap - 1;
    return m->values && m->inits && m->init_value && m->graphs && b->ix.slot ? 0 : oom(b);
}

static int define_inputs(builder *b)
{
    for (size_t i = 0; i < b->g->n_input; i++) {
        const char *name = b->g->input[i]->name;
        if (!name || !*name)
            return bb_err_set(b->err, "%s: graph input %zu has no name", b->src.file, i);
        if (ix_find(&b->ix, b->m, name) >= 0)
            return bb_err_set(b->err, "%s: graph input '%.200s' is declared twice", b->src.file, name);
        if (add_value(b, name, "a graph input's name", -1) < 0)
            return -1;
    }
    return 0;
}

/* Graph g's initializers, appended to the model's. `where` is "" for the
 * main graph (whose initializers may also be declared graph inputs), else
 * names the subgraph (where an initializer must be a new name). */
static int define_inits(builder *b, const Onnx__GraphProto *g, const char *where)
{
    bb_ox_model *m = b->m;
    char what[700];
    for (size_t j = 0; j < g->n_initializer; j++) {
        const Onnx__TensorProto *tp = g->initializer[j];
        int i = m->n_inits;
        if (!tp->name || !*tp->name)
            return bb_err_set(b->err, "%s: %sinitializer %zu has no name", b->src.file, where, j);
        int v = ix_find(&b->ix, m, tp->name);
        if (v >= 0 && (m->values[v].init >= 0 || *where))
            return bb_err_set(b->err, "%s: %sinitializer '%.200s' is given twice", b->src.file, where, tp->name);
        if (v < 0 && (v = add_value(b, tp->name, "an initializer's name", -1)) < 0)
            return -1;
        m->values[v].init = i;
        m->init_value[i] = v;
        snprintf(what, sizeof what, "%sinitializer '%.200s'", where, tp->name);
        if (bb_oxt_tensor(tp, &b->src, what, &m->inits[i], b->err) != 0)
            return -1;
        m->n_inits++;
    }
    return 0;
}

/* "node 'conv1'", "an initializer" or "a graph input": what defines value v. */
static void definer(const bb_ox_model *m, int v, char *buf, size_t len)
{
    int p = m->values[v].producer;
    if (p >= 0)
        snprintf(buf, len, "node '%.200s'", m->nodes[p].name);
    else
        snprintf(buf, len, "%s", p == PRODUCER_SUBGRAPH_NODE    ? "a subgraph's node"
                                 : p == PRODUCER_SUBGRAPH_INPUT ? "a subgraph's input"
                                 : m->values[v].init >= 0       ? "an initializer"
                                                                : "a graph input");
}

static int node_inputs(builder *b, const Onnx__NodeProto *np, bb_ox_node *n, const char *where)
{
    if (np->n_input > INT_MAX || !(n->in = xcalloc(np->n_input, sizeof *n->in)))
        return oom(b);
    n->n_in = (int)np->n_input;
    for (int i = 0; i < n->n_in; i++) {
        const char *s = np->input[i];
        n->in[i] = s && *s ? ix_find(&b->ix, b->m, s) : -1;
        if (s && *s && n->in[i] < 0)
            return bb_err_set(b->err, "%s: %s reads '%.200s', which no earlier node, input or initializer defines",
                              b->src.file, where, s);
    }
    return 0;
}

static int node_outputs(builder *b, const Onnx__NodeProto *np, bb_ox_node *n, int producer, const char *where)
{
    char who[300];
    if (!(n->out = xcalloc(np->n_output, sizeof *n->out)))
        return oom(b);
    n->n_out = (int)np->n_output;
    for (int i = 0; i < n->n_out; i++) {
        const char *s = np->output[i];
        n->out[i] = -1;
        if (!s || !*s)
            continue; /* an optional output left out */
        int v = ix_find(&b->ix, b->m, s);
        if (v >= 0) {
            definer(b->m, v, who, sizeof who);
            return bb_err_set(b->err, "%s: %s writes '%.200s', which %s already defines", b->src.file, where, s,
                              who);
        }
        if ((n->out[i] = add_value(b, s, "a node output's name", producer)) < 0)
            return -1;
    }
    return 0;
}

static int define_subgraph(builder *b, const Onnx__GraphProto *g, const char *where, int *gi);

static int node_attrs(builder *b, const Onnx__NodeProto *np, bb_ox_node *n, const char *where)
{
    char what[700];
    if (np->n_attribute > INT_MAX || !(n->attrs = xcalloc(np->n_attribute, sizeof *n->attrs)))
        return oom(b);
    n->n_attr = (int)np->n_attribute;
    for (int i = 0; i < n->n_attr; i++) {
        if (bb_oxt_attr(np->attribute[i], &b->src, where, &n->attrs[i], b->err) != 0)
            return -1;
        if (!is_graph_attr(np->attribute[i]))
            continue;
        snprintf(what, sizeof what, "%.400s, attribute '%.200s'", where, n->attrs[i].name);
        int gi;
        if (define_subgraph(b, np->attribute[i]->g, what, &gi) != 0)
            return -1;
        n->attrs[i].type = BB_OX_ATTR_GRAPH;
        n->attrs[i].i = gi;
    }
    return 0;
}

/* Name, op type and domain ("ai.onnx" is the default domain, ""). */
static int node_names(builder *b, const Onnx__NodeProto *np, bb_ox_node *n, int k)
{
    char what[100];
    snprintf(what, sizeof what, "node %d's op_type", k);
    if (!(n->op_type = bb_oxt_strdup(np->op_type, BB_OX_MAX_NAME, &b->src, what, b->err)))
        return -1;
    if (!n->op_type[0])
        return bb_err_set(b->err, "%s: node %d has no op_type", b->src.file, k);
    snprintf(what, sizeof what, "node %d's name", k);
    if (!(n->name = bb_oxt_strdup(np->name, BB_OX_MAX_NAME, &b->src, what, b->err)))
        return -1;
    if (!n->name[0]) {
        size_t len = strlen(n->op_type) + 16;
        free(n->name);
        if (!(n->name = malloc(len)))
            return oom(b);
        snprintf(n->name, len, "%s#%d", n->op_type, k);
    }
    snprintf(what, sizeof what, "node %d's domain", k);
    const char *d = np->domain && strcmp(np->domain, "ai.onnx") ? np->domain : "";
    return (n->domain = bb_oxt_strdup(d, BB_OX_MAX_NAME, &b->src, what, b->err)) ? 0 : -1;
}

/* Graph g's nodes into nodes[] (room for g->n_node; *count counts those
 * begun, for freeing). A node's subgraphs are read after its inputs and
 * before its outputs: they see what was defined before the node. */
static int define_nodes(builder *b, const Onnx__GraphProto *g, bb_ox_node *nodes, int *count, int main_graph)
{
    char where[400];
    for (int k = 0; k < (int)g->n_node; k++) {
        const Onnx__NodeProto *np = g->node[k];
        bb_ox_node *n = &nodes[k];
        *count = k + 1;
        if (node_names(b, np, n, k) != 0)
            return -1;
        snprintf(where, sizeof where, "node '%.200s' (%.100s)", n->name, n->op_type);
        if (node_inputs(b, np, n, where) != 0 || node_attrs(b, np, n, where) != 0 ||
            node_outputs(b, np, n, main_graph ? k : PRODUCER_SUBGRAPH_NODE, where) != 0)
            return -1;
    }
    return 0;
}

/* Subgraph g (an attribute of the node `where` names) as m->graphs[*gi]:
 * its formal inputs and initializers are new names, its nodes read those
 * and what the graphs around it defined so far, its outputs are any of
 * them. Its names leave scope at its end (an If's two branches may both
 * name a value "y"). */
static int define_subgraph(builder *b, const Onnx__GraphProto *g, const char *where, int *gi)
{
    bb_ox_model *m = b->m;
    char prefix[800];
    const int first = m->n_values;
    bb_ox_graph *sg = &m->graphs[*gi = m->n_graphs++];
    snprintf(prefix, sizeof prefix, "%.700s: ", where);
    if (g->n_input > INT_MAX / 4 || g->n_output > INT_MAX / 4 || g->n_node > INT_MAX / 4 ||
        !(sg->inputs = xcalloc(g->n_input, sizeof(int))) || !(sg->outputs = xcalloc(g->n_output, sizeof(int))) ||
        !(sg->nodes = xcalloc(g->n_node, sizeof *sg->nodes)))
        return oom(b);
    for (size_t i = 0; i < g->n_input; i++, sg->n_inputs++) {
        const char *name = g->input[i]->name;
        if (!name || !*name)
            return bb_err_set(b->err, "%s: %sinput %zu has no name", b->src.file, prefix, i);
        if (ix_find(&b->ix, m, name) >= 0)
            return bb_err_set(b->err, "%s: %sinput '%.200s' is already defined outside the subgraph", b->src.file,
                              prefix, name);
        if ((sg->inputs[i] = add_value(b, name, "a subgraph input's name", PRODUCER_SUBGRAPH_INPUT)) < 0)
            return -1;
    }
    if (define_inits(b, g, prefix) != 0 || define_nodes(b, g, sg->nodes, &sg->n_nodes, 0) != 0)
        return -1;
    for (size_t i = 0; i < g->n_output; i++, sg->n_outputs++) {
        const char *name = g->output[i]->name;
        if ((sg->outputs[i] = name && *name ? ix_find(&b->ix, m, name) : -1) < 0)
            return bb_err_set(b->err, "%s: %soutput '%.200s' is not defined in the subgraph or before its node",
                              b->src.file, prefix, name ? name : "");
    }
    for (int v = first; v < m->n_values; v++)
        ix_drop(&b->ix, m, v);
    return 0;
}

/* ---- graph inputs and outputs as declared ---------------------------------------------- */

static int io_dims(builder *b, const Onnx__TensorShapeProto *sh, const char *what, bb_ox_io *io)
{
    int64_t known[BB_OX_MAX_DIMS], numel;
    if (sh->n_dim > BB_OX_MAX_DIMS)
        return bb_err_set(b->err, "%s: %s: %zu dims, at most %d", b->src.file, what, sh->n_dim, BB_OX_MAX_DIMS);
    io->ndim = (int)sh->n_dim;
    for (int i = 0; i < io->ndim; i++) {
        const Onnx__TensorShapeProto__Dimension *d = sh->dim[i];
        io->dims[i] = -1;
        if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE) {
            if (d->dim_value < 0)
                return bb_err_set(b->err, "%s: %s: dim %d is %lld (negative)", b->src.file, what, i,
                                  (long long)d->dim_value);
            io->dims[i] = d->dim_value;
        } else if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM && d->dim_param &&
                   *d->dim_param &&
                   !(io->dim_param[i] = bb_oxt_strdup(d->dim_param, BB_OX_MAX_NAME, &b->src, what, b->err))) {
            return -1;
        }
        known[i] = io->dims[i] < 0 ? 1 : io->dims[i];
    }
    return bb_oxt_numel(known, io->ndim, &b->src, what, &numel, b->err);
}

static int io_decl(builder *b, const Onnx__ValueInfoProto *vi, int value, const char *what, bb_ox_io *io)
{
    const Onnx__TypeProto *tp = vi->type;
    io->value = value;
    io->ndim = -1;
    if (!tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !tp->tensor_type)
        return 0;
    io->elem_type = tp->tensor_type->has_elem_type ? tp->tensor_type->elem_type : 0;
    return tp->tensor_type->shape ? io_dims(b, tp->tensor_type->shape, what, io) : 0;
}

static int define_ios(builder *b)
{
    bb_ox_model *m = b->m;
    const Onnx__GraphProto *g = b->g;
    char what[300];
    size_t n_in = 0;
    for (size_t i = 0; i < g->n_input; i++)
        n_in += m->values[ix_find(&b->ix, m, g->input[i]->name)].init < 0;
    if (!(m->inputs = xcalloc(n_in, sizeof *m->inputs)) || !(m->outputs = xcalloc(g->n_output, sizeof *m->outputs)))
        return oom(b);
    m->n_inputs = (int)n_in;
    m->n_outputs = (int)g->n_output;
    for (size_t i = 0, k = 0; i < g->n_input; i++) {
        int v = ix_find(&b->ix, m, g->input[i]->name);
        snprintf(what, sizeof what, "graph input '%.200s'", g->input[i]->name);
        if (m->values[v].init < 0 && io_decl(b, g->input[i], v, what, &m->inputs[k++]) != 0)
            return -1;
    }
    for (size_t i = 0; i < g->n_output; i++) {
        const char *name = g->output[i]->name;
        int v = name && *name ? ix_find(&b->ix, m, name) : -1;
        if (v < 0)
            return bb_err_set(b->err, "%s: graph output %s%.200s%s is not defined by any node, input or initializer",
                              b->src.file, name && *name ? "'" : "", name && *name ? name : "without a name",
                              name && *name ? "'" : "");
        snprintf(what, sizeof what, "graph output '%.200s'", name);
        if (io_decl(b, g->output[i], v, what, &m->outputs[i]) != 0)
            return -1;
    }
    return 0;
}

/* ---- the model ---------------------------------------------------------------------- */

static int model_opset(const Onnx__ModelProto *mp, const bb_ox_src *src, int64_t *opset, bb_err *err)
{
    int found = 0;
    *opset = 0;
    for (size_t i = 0; i < mp->n_opset_import; i++) {
        const Onnx__OperatorSetIdProto *o = mp->opset_import[i];
        if (o->domain && *o->domain && strcmp(o->domain, "ai.onnx"))
            continue;
        int64_t v = o->has_version ? o->version : 0;
        if (found && v != *opset)
            return bb_err_set(err, "%s: opset_import gives the default domain twice (%lld and %lld)", src->file,
                              (long long)*opset, (long long)v);
        found = 1;
        *opset = v;
    }
    return 0;
}

static int model_meta(bb_ox_model *m, const Onnx__ModelProto *mp, const bb_ox_src *src, bb_err *err)
{
    m->ir_version = mp->has_ir_version ? mp->ir_version : 0;
    if (model_opset(mp, src, &m->opset, err) != 0)
        return -1;
    char *name = bb_oxt_strdup(mp->producer_name, BB_OX_MAX_NAME, src, "producer_name", err);
    char *ver = name ? bb_oxt_strdup(mp->producer_version, BB_OX_MAX_NAME, src, "producer_version", err) : NULL;
    size_t len = name && ver ? strlen(name) + strlen(ver) + 2 : 0;
    if (len && (m->producer = malloc(len)))
        snprintf(m->producer, len, "%s%s%s", name, *name && *ver ? " " : "", ver);
    int rc = !ver ? -1 : !m->producer ? bb_err_oom(err, "%s: out of memory", src->file) : 0;
    free(name);
    free(ver);
    if (rc == 0 && mp->graph &&
        !(m->graph_name = bb_oxt_strdup(mp->graph->name, BB_OX_MAX_NAME, src, "the graph's name", err)))
        rc = -1;
    return rc;
}

static int build(bb_ox_model *m, const Onnx__ModelProto *mp, const bb_ox_src *src, bb_err *err)
{
    builder b = {m, mp->graph, *src, {NULL, 0}, err};
    int rc = model_meta(m, mp, src, err);
    if (rc == 0 && !b.g)
        rc = bb_err_set(err, "%s: the model has no graph", src->file);
    else if (rc == 0 && !b.g->n_output)
        rc = bb_err_set(err, "%s: the graph has no outputs", src->file);
    if (rc == 0)
        rc = values_alloc(&b) || define_inputs(&b) || define_inits(&b, b.g, "");
    if (rc == 0 && b.g->n_node > INT_MAX / 4)
        rc = bb_err_set(err, "%s: the graph has too many nodes", src->file);
    if (rc == 0 && !(m->nodes = xcalloc(b.g->n_node, sizeof *m->nodes)))
        rc = oom(&b);
    if (rc == 0)
        rc = define_nodes(&b, b.g, m->nodes, &m->n_nodes, 1) || define_ios(&b);
    free(b.ix.slot);
    return rc ? -1 : 0;
}

/* ---- public -------------------------------------------------------------------------- */

bb_ox_model *bb_ox_load_buffer(const uint8_t *buf, size_t len, const char *name, const char *dir, bb_err *err)
{
    static const uint8_t empty[1];
    bb_ox_src src = {name ? name : "<memory>", dir};
    wire_walk w = {src.file, 0, err};
    if (len > MAX_FILE_BYTES) {
        bb_err_set(err, "%s: %zu bytes, more than protobuf's 2 GiB limit", src.file, len);
        return NULL;
    }
    if (!buf)
        buf = empty, len = 0;
    if (wire_message(&onnx__model_proto__descriptor, buf, len, 0, &w) != 0)
        return NULL;
    Onnx__ModelProto *mp = onnx__model_proto__unpack(NULL, len, buf);
    if (!mp) {
        bb_err_set(err, "%s: not an ONNX model (protobuf parse failed)", src.file);
        return NULL;
    }
    bb_ox_model *m = calloc(1, sizeof *m);
    int rc = !m || !(m->path = strdup(src.file)) ? bb_err_oom(err, "%s: out of memory", src.file)
                                                 : build(m, mp, &src, err);
    onnx__model_proto__free_unpacked(mp, NULL);
    if (rc != 0) {
        bb_ox_free(m);
        return NULL;
    }
    return m;
}

bb_ox_model *bb_ox_load(const char *path, bb_err *err)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    if (read_file(path, &buf, &len, err) != 0)
        return NULL;
    char *dir = dir_of(path);
    bb_ox_model *m = dir ? bb_ox_load_buffer(buf, len, path, dir, err) : NULL;
    if (!dir)
        bb_err_oom(err, "%s: out of memory", path);
    free(dir);
    free(buf);
    return m;
}

static void io_free(bb_ox_io *io, int n)
{
    for (int i = 0; io && i < n; i++)
        for (int d = 0; d < BB_OX_MAX_DIMS; d++)
            free(io[i].dim_param[d]);
    free(io);
}

static void node_free(bb_ox_node *n)
{
    free(n->name);
    free(n->op_type);
    free(n->domain);
    free(n->in);
    free(n->out);
    for (int i = 0; n->attrs && i < n->n_attr; i++)
        bb_oxt_attr_free(&n->attrs[i]);
    free(n->attrs);
}

void bb_ox_free(bb_ox_model *m)
{
    if (!m)
        return;
    for (int i = 0; m->values && i < m->n_values; i++)
        free(m->values[i].name);
    for (int i = 0; m->nodes && i < m->n_nodes; i++)
        node_free(&m->nodes[i]);
    for (int i = 0; m->inits && i < m->n_inits; i++)
        bb_oxt_tensor_free(&m->inits[i]);
    for (int i = 0; m->graphs && i < m->n_graphs; i++) {
        for (int k = 0; k < m->graphs[i].n_nodes; k++)
            node_free(&m->graphs[i].nodes[k]);
        free(m->graphs[i].nodes);
        free(m->graphs[i].inputs);
        free(m->graphs[i].outputs);
    }
    free(m->graphs);
    io_free(m->inputs, m->n_inputs);
    io_free(m->outputs, m->n_outputs);
    free(m->values);
    free(m->nodes);
    free(m->inits);
    free(m->init_value);
    free(m->path);
    free(m->producer);
    free(m->graph_name);
    free(m);
}

int bb_ox_default_domain(const bb_ox_node *n)
{
    return !n->domain || !n->domain[0] || !strcmp(n->domain, "ai.onnx");
}

const bb_ox_attr *bb_ox_attr_find(const bb_ox_node *n, const char *name)
{
    for (int i = 0; n && name && i < n->n_attr; i++)
        if (n->attrs[i].name && !strcmp(n->attrs[i].name, name))
            return &n->attrs[i];
    return NULL;
}

int64_t bb_ox_attr_int(const bb_ox_node *n, const char *name, int64_t dflt)
{
    const bb_ox_attr *a = bb_ox_attr_find(n, name);
    return a && a->type == BB_OX_ATTR_INT ? a->i : dflt;
}

float bb_ox_attr_float(const bb_ox_node *n, const char *name, float dflt)
{
    const bb_ox_attr *a = bb_ox_attr_find(n, name);
    return a && a->type == BB_OX_ATTR_FLOAT ? a->f : dflt;
}

int bb_ox_value_find(const bb_ox_model *m, const char *name)
{
    for (int i = 0; m && name && i < m->n_values; i++)
        if (!strcmp(m->values[i].name, name))
            return i;
    return -1;
}
