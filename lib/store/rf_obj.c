/* rf_obj: the value tree of an artifact payload; see rf_obj.h.
 *
 * Small nodes use the abort-on-failure allocators (like rf_buf): they hold
 * metadata, and a process that cannot allocate 100 bytes cannot do anything
 * useful. Tensor data is the exception: it can be gigabytes, so its
 * allocation fails softly (NULL) and the caller reports RF_ENOMEM. */
#include "store/rf_obj.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>

#include "base/rf_buf.h"

/* Cache-line alignment so BLAS and vectorised loops see aligned rows. */
#define RF_TENSOR_ALIGN 64
/* Big tensors are aligned to and advised as transparent huge pages: the
 * first touch of 4 KiB pages runs at ~1 GB/s (one fault per page), which
 * would cap the decoder's throughput; 2 MiB pages fault 512x less. */
#define RF_HUGE_ALIGN (2u << 20)
#define RF_HUGE_MIN (8u << 20)

static rf_obj *obj_new(int type)
{
    rf_obj *o = rf_xcalloc(1, sizeof *o);
    o->type = type;
    return o;
}

rf_obj *rf_obj_nil(void) { return obj_new(RF_NIL); }

rf_obj *rf_obj_bool(int b)
{
    rf_obj *o = obj_new(RF_BOOL);
    o->u.b = !!b;
    return o;
}

rf_obj *rf_obj_int(int64_t i)
{
    rf_obj *o = obj_new(RF_INT);
    o->u.i = i;
    return o;
}

rf_obj *rf_obj_float(double f)
{
    rf_obj *o = obj_new(RF_FLOAT);
    o->u.f = f;
    return o;
}

static rf_obj *bytes_new(int type, const void *p, size_t n)
{
    rf_obj *o = obj_new(type);
    if (n == SIZE_MAX)
        abort();
    o->u.s.p = rf_xmalloc(n + 1);
    if (n)
        memcpy(o->u.s.p, p, n);
    o->u.s.p[n] = '\0';
    o->u.s.len = n;
    return o;
}

rf_obj *rf_obj_str(const char *s) { return bytes_new(RF_STR, s, strlen(s)); }
rf_obj *rf_obj_strn(const char *s, size_t n) { return bytes_new(RF_STR, s, n); }
rf_obj *rf_obj_bin(const void *p, size_t n) { return bytes_new(RF_BIN, p, n); }
rf_obj *rf_obj_array(void) { return obj_new(RF_ARRAY); }
rf_obj *rf_obj_map(void) { return obj_new(RF_MAP); }

size_t rf_dtype_size(int dtype)
{
    switch (dtype) {
    case RF_F32: case RF_I32: return 4;
    case RF_F64: case RF_I64: return 8;
    case RF_U8: return 1;
    default: return 0;
    }
}

const char *rf_dtype_name(int dtype)
{
    switch (dtype) {
    case RF_F32: return "f32";
    case RF_F64: return "f64";
    case RF_I32: return "i32";
    case RF_I64: return "i64";
    case RF_U8: return "u8";
    default: return "invalid";
    }
}

uint64_t rf_tensor_count(const rf_tensor *t)
{
    uint64_t n = 1;
    for (int d = 0; d < t->ndim; d++)
        n *= t->shape[d];
    return n;
}

/* Byte size of a tensor of this dtype and shape into *bytes; -1 when the
 * dtype or ndim is invalid or the size does not fit in size_t. */
int rf_tensor_bytes(int dtype, int ndim, const uint64_t *shape, size_t *bytes)
{
    size_t esz = rf_dtype_size(dtype);
    if (!esz || ndim < 0 || ndim > RF_TENSOR_MAXDIM)
        return -1;
    for (int d = 0; d < ndim; d++)
        if (shape[d] == 0) {
            *bytes = 0;
            return 0;
        }
    uint64_t n = esz;
    for (int d = 0; d < ndim; d++)
        if (__builtin_mul_overflow(n, shape[d], &n))
            return -1;
    if (n > SIZE_MAX)
        return -1;
    *bytes = (size_t)n;
    return 0;
}

static rf_obj *tensor_obj(int dtype, int ndim, const uint64_t *shape)
{
    rf_obj *o = obj_new(RF_TENSOR);
    o->u.t.dtype = dtype;
    o->u.t.ndim = ndim;
    for (int d = 0; d < ndim; d++)
        o->u.t.shape[d] = shape[d];
    return o;
}

/* n rounded up to a multiple of align (a power of two); 0 on overflow. */
static size_t round_up(size_t n, size_t align)
{
    return n > SIZE_MAX - align ? 0 : (n + align - 1) & ~(align - 1);
}

rf_obj *rf_obj_tensor_alloc(int dtype, int ndim, const uint64_t *shape)
{
    size_t bytes;
    if (rf_tensor_bytes(dtype, ndim, shape, &bytes) < 0)
        return NULL;
    /* aligned_alloc wants a non-zero multiple of the alignment. */
    size_t align = bytes >= RF_HUGE_MIN ? RF_HUGE_ALIGN : RF_TENSOR_ALIGN;
    size_t alloc = round_up(bytes ? bytes : 1, align);
    void *data = alloc ? aligned_alloc(align, alloc) : NULL;
    if (!data)
        return NULL;
#ifdef MADV_HUGEPAGE
    if (align == RF_HUGE_ALIGN)
        madvise(data, alloc, MADV_HUGEPAGE);   /* advisory: failure is harmless */
#endif
    rf_obj *o = tensor_obj(dtype, ndim, shape);
    o->u.t.data = data;
    o->u.t.owned = 1;
    return o;
}

rf_obj *rf_obj_tensor_new(int dtype, int ndim, const uint64_t *shape)
{
    rf_obj *o = rf_obj_tensor_alloc(dtype, ndim, shape);
    if (o) {
        size_t bytes;
        rf_tensor_bytes(dtype, ndim, shape, &bytes);
        memset(o->u.t.data, 0, bytes);
    }
    return o;
}

rf_obj *rf_obj_tensor_wrap(int dtype, int ndim, const uint64_t *shape, void *data)
{
    size_t bytes;
    if (rf_tensor_bytes(dtype, ndim, shape, &bytes) < 0 || (bytes && !data))
        return NULL;
    rf_obj *o = tensor_obj(dtype, ndim, shape);
    o->u.t.data = data;
    o->u.t.owned = 0;
    return o;
}

/* Grow a container's arrays to hold at least one more entry. */
static size_t grow_cap(size_t len, size_t cap)
{
    if (len < cap)
        return cap;
    if (cap > SIZE_MAX / 2 / sizeof(void *))
        abort();
    return cap ? cap * 2 : 4;
}

/* Adding to a value that is not a container is a programming error; fail
 * at the call instead of corrupting the union. */
static void must_be(const rf_obj *o, int type)
{
    if (!o || o->type != type)
        abort();
}

void rf_obj_push(rf_obj *array, rf_obj *child)
{
    must_be(array, RF_ARRAY);
    size_t cap = grow_cap(array->u.a.len, array->u.a.cap);
    if (cap != array->u.a.cap) {
        array->u.a.items = rf_xrealloc(array->u.a.items, cap * sizeof(rf_obj *));
        array->u.a.cap = cap;
    }
    array->u.a.items[array->u.a.len++] = child;
}

/* Index of key in map, searching from the end so that, should a decoded map
 * carry a duplicate key, the last one wins, as it would with rf_obj_set. */
static ssize_t map_find(const rf_obj *map, const char *key)
{
    for (size_t i = map->u.m.len; i-- > 0;)
        if (!strcmp(map->u.m.keys[i], key))
            return (ssize_t)i;
    return -1;
}

void rf_obj_set(rf_obj *map, const char *key, rf_obj *child)
{
    must_be(map, RF_MAP);
    ssize_t i = map_find(map, key);
    if (i >= 0) {
        rf_obj_free(map->u.m.vals[i]);
        map->u.m.vals[i] = child;
        return;
    }
    size_t cap = grow_cap(map->u.m.len, map->u.m.cap);
    if (cap != map->u.m.cap) {
        map->u.m.keys = rf_xrealloc(map->u.m.keys, cap * sizeof(char *));
        map->u.m.vals = rf_xrealloc(map->u.m.vals, cap * sizeof(rf_obj *));
        map->u.m.cap = cap;
    }
    map->u.m.keys[map->u.m.len] = rf_xstrdup(key);
    map->u.m.vals[map->u.m.len++] = child;
}

rf_obj *rf_obj_get(const rf_obj *map, const char *key)
{
    if (!map || map->type != RF_MAP)
        return NULL;
    ssize_t i = map_find(map, key);
    return i < 0 ? NULL : map->u.m.vals[i];
}

const char *rf_obj_get_str(const rf_obj *map, const char *key)
{
    rf_obj *o = rf_obj_get(map, key);
    return o && o->type == RF_STR ? o->u.s.p : NULL;
}

int rf_obj_get_int(const rf_obj *map, const char *key, int64_t *out)
{
    rf_obj *o = rf_obj_get(map, key);
    if (!o || o->type != RF_INT)
        return -1;
    *out = o->u.i;
    return 0;
}

int rf_obj_get_float(const rf_obj *map, const char *key, double *out)
{
    rf_obj *o = rf_obj_get(map, key);
    if (o && o->type == RF_FLOAT)
        *out = o->u.f;
    else if (o && o->type == RF_INT)
        *out = (double)o->u.i;
    else
        return -1;
    return 0;
}

rf_tensor *rf_obj_get_tensor(const rf_obj *map, const char *key, int dtype)
{
    rf_obj *o = rf_obj_get(map, key);
    if (!o || o->type != RF_TENSOR || o->u.t.dtype != dtype)
        return NULL;
    return &o->u.t;
}

void rf_obj_free(rf_obj *o)
{
    if (!o)
        return;
    switch (o->type) {
    case RF_STR: case RF_BIN:
        free(o->u.s.p);
        break;
    case RF_ARRAY:
        for (size_t i = 0; i < o->u.a.len; i++)
            rf_obj_free(o->u.a.items[i]);
        free(o->u.a.items);
        break;
    case RF_MAP:
        for (size_t i = 0; i < o->u.m.len; i++) {
            free(o->u.m.keys[i]);
            rf_obj_free(o->u.m.vals[i]);
        }
        free(o->u.m.keys);
        free(o->u.m.vals);
        break;
    case RF_TENSOR:
        if (o->u.t.owned)
            free(o->u.t.data);
        break;
    }
    free(o);
}
