/* rf_codec_tensor: tensors, msgpack ext type 1 (RF_EXT_TENSOR): the header
 * of dtype, ndim and shape, then the raw data, streamed from the caller's
 * buffer on encode and into the tensor's one allocation on decode. */
#include <stdint.h>
#include <string.h>

#include "store/rf_codec_impl.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "rf_codec streams tensor data as stored in memory: little-endian hosts only"
#endif

int rf_codec_pack_tensor_head(msgpack_packer *pk, const rf_tensor *t, size_t *bytes,
                              rf_err *err)
{
    if (rf_tensor_bytes(t->dtype, t->ndim, t->shape, bytes) < 0)
        return rf_errf(err, RF_EINVAL, "invalid tensor (dtype %d, ndim %d)",
                       t->dtype, t->ndim);
    uint8_t hdr[TENSOR_HDR_MAX] = {(uint8_t)t->dtype, (uint8_t)t->ndim, 0, 0};
    size_t hlen = TENSOR_HDR_FIXED;
    for (int d = 0; d < t->ndim; d++, hlen += 8)
        put_le(hdr + hlen, t->shape[d], 8);
    if (*bytes > UINT32_MAX - hlen)
        return rf_errf(err, RF_ETOOBIG,
                       "tensor of %zu bytes: one tensor must stay under 4 GiB", *bytes);
    if (msgpack_pack_ext(pk, hlen + *bytes, RF_EXT_TENSOR) < 0 ||
        msgpack_pack_ext_body(pk, hdr, hlen) < 0)
        return -1;
    return 0;
}

int rf_codec_pack_tensor(msgpack_packer *pk, const rf_tensor *t, rf_err *err)
{
    size_t bytes;
    if (rf_tensor_bytes(t->dtype, t->ndim, t->shape, &bytes) == 0 && bytes && !t->data)
        return rf_errf(err, RF_EINVAL, "tensor without data");
    if (rf_codec_pack_tensor_head(pk, t, &bytes, err) < 0 ||
        msgpack_pack_ext_body(pk, t->data, bytes) < 0)
        return -1;
    return 0;
}

int rf_codec_dec_tensor(dec *d, uint64_t len, rf_obj **out)
{
    const uint8_t *p;
    if (len < TENSOR_HDR_FIXED)
        return rf_codec_fail(d, RF_ECORRUPT, "tensor ext of %llu bytes is too short",
                             (unsigned long long)len);
    if (rf_codec_need(d, TENSOR_HDR_FIXED, &p) < 0)
        return -1;
    int dtype = p[0], ndim = p[1];
    if (!rf_dtype_size(dtype))
        return rf_codec_fail(d, RF_ECORRUPT, "invalid tensor dtype %d", dtype);
    if (ndim > RF_TENSOR_MAXDIM)
        return rf_codec_fail(d, RF_ECORRUPT, "tensor has %d dimensions (max %d)", ndim,
                             RF_TENSOR_MAXDIM);
    if (p[2] || p[3])
        return rf_codec_fail(d, RF_ECORRUPT, "unknown tensor flags");
    uint64_t hlen = TENSOR_HDR_FIXED + 8 * (uint64_t)ndim;
    if (len < hlen)
        return rf_codec_fail(d, RF_ECORRUPT, "tensor ext too short for %d dimensions", ndim);
    uint64_t shape[RF_TENSOR_MAXDIM];
    if (ndim && rf_codec_need(d, 8 * (size_t)ndim, &p) < 0)
        return -1;
    for (int i = 0; i < ndim; i++)
        shape[i] = get_le(p + 8 * i, 8);
    size_t bytes;
    if (rf_tensor_bytes(dtype, ndim, shape, &bytes) < 0 || bytes != len - hlen)
        return rf_codec_fail(d, RF_ECORRUPT, "tensor data of %llu bytes does not match "
                             "its %s shape", (unsigned long long)(len - hlen),
                             rf_dtype_name(dtype));
    rf_obj *t = rf_obj_tensor_alloc(dtype, ndim, shape);
    if (!t)
        return rf_errf(d->err, RF_ENOMEM, "out of memory for a tensor of %zu bytes",
                       bytes);
    if (rf_codec_copy(d, t->u.t.data, bytes) < 0) {
        rf_obj_free(t);
        return -1;
    }
    *out = t;
    return 0;
}

