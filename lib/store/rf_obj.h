/* rf_obj: the in-memory value tree of an artifact payload.
 *
 * An artifact's payload is one value, usually a map with string keys. Values
 * are nil, bool, int (int64), float (double), str, bin, array, map and
 * tensor. A tensor is typed (f32, f64, i32, i64, u8), row-major, with up to
 * RF_TENSOR_MAXDIM dimensions; its data is encoded as one msgpack ext blob,
 * so decoding copies it straight into place instead of parsing numbers.
 *
 * Ownership: a container owns the children added to it; rf_obj_free() on the
 * root frees the tree. A tensor either owns its data (rf_obj_tensor_new,
 * zeroed, 64-byte aligned) or borrows it (rf_obj_tensor_wrap: the caller
 * keeps the memory alive until the tree is freed; useful to encode big
 * weight matrices without copying them). */
#ifndef RF_OBJ_H
#define RF_OBJ_H

#include <stddef.h>
#include <stdint.h>

enum rf_obj_type {
    RF_NIL, RF_BOOL, RF_INT, RF_FLOAT, RF_STR, RF_BIN, RF_ARRAY, RF_MAP,
    RF_TENSOR
};

enum rf_dtype { RF_F32 = 1, RF_F64 = 2, RF_I32 = 3, RF_I64 = 4, RF_U8 = 5 };

#define RF_TENSOR_MAXDIM 8

typedef struct rf_obj rf_obj;

typedef struct rf_tensor {
    int dtype;                         /* enum rf_dtype */
    int ndim;
    uint64_t shape[RF_TENSOR_MAXDIM];
    void *data;                        /* row-major, little-endian */
    int owned;                         /* 1 if freed with the tree */
} rf_tensor;

struct rf_obj {
    int type;
    union {
        int b;
        int64_t i;
        double f;
        struct { char *p; size_t len; } s;      /* RF_STR (NUL-terminated), RF_BIN */
        struct { rf_obj **items; size_t len, cap; } a;
        struct { char **keys; rf_obj **vals; size_t len, cap; } m;
        rf_tensor t;
    } u;
};

/* Constructors (abort on out-of-memory, like rf_buf; tensors excepted). */
rf_obj *rf_obj_nil(void);
rf_obj *rf_obj_bool(int b);
rf_obj *rf_obj_int(int64_t i);
rf_obj *rf_obj_float(double f);
rf_obj *rf_obj_str(const char *s);
rf_obj *rf_obj_strn(const char *s, size_t n);
rf_obj *rf_obj_bin(const void *p, size_t n);
rf_obj *rf_obj_array(void);
rf_obj *rf_obj_map(void);
/* Owned, zero-filled tensor; NULL if the size overflows or malloc fails. */
rf_obj *rf_obj_tensor_new(int dtype, int ndim, const uint64_t *shape);
/* Owned tensor with uninitialised data, for decoders that fill every byte
 * (saves a pass over memory); NULL like rf_obj_tensor_new. */
rf_obj *rf_obj_tensor_alloc(int dtype, int ndim, const uint64_t *shape);
/* Borrowed tensor over caller memory. */
rf_obj *rf_obj_tensor_wrap(int dtype, int ndim, const uint64_t *shape, void *data);

/* Containers take ownership of child. Map keys are copied; setting an
 * existing key replaces (and frees) the old value. */
void rf_obj_push(rf_obj *array, rf_obj *child);
void rf_obj_set(rf_obj *map, const char *key, rf_obj *child);

/* Lookups: NULL when absent or of another type. */
rf_obj *rf_obj_get(const rf_obj *map, const char *key);
const char *rf_obj_get_str(const rf_obj *map, const char *key);
int rf_obj_get_int(const rf_obj *map, const char *key, int64_t *out);   /* 0 ok */
int rf_obj_get_float(const rf_obj *map, const char *key, double *out); /* int ok too */
rf_tensor *rf_obj_get_tensor(const rf_obj *map, const char *key, int dtype);

size_t rf_dtype_size(int dtype);
const char *rf_dtype_name(int dtype);
uint64_t rf_tensor_count(const rf_tensor *t);   /* product of shape */
/* Data size in bytes of a tensor of this dtype and shape; -1 when the dtype
 * or ndim is invalid or the size overflows size_t. */
int rf_tensor_bytes(int dtype, int ndim, const uint64_t *shape, size_t *bytes);
void rf_obj_free(rf_obj *o);

#endif
