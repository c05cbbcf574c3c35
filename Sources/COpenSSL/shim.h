#ifndef XG_COPENSSL_SHIM_H
#define XG_COPENSSL_SHIM_H
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

/* EVP_CIPHER_CTX_ctrl takes a void *; typed wrappers for the AEAD tag. */
static inline int xg_gcm_set_ivlen(EVP_CIPHER_CTX *c, int len) {
    return EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, len, NULL);
}
static inline int xg_gcm_get_tag(EVP_CIPHER_CTX *c, unsigned char *tag, int len) {
    return EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, len, tag);
}
static inline int xg_gcm_set_tag(EVP_CIPHER_CTX *c, unsigned char *tag, int len) {
    return EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, len, tag);
}

/* HKDF-SHA256 (RFC 5869, extract then expand) through EVP_KDF: OSSL_PARAM arrays are built
   with macros and variadic-free constructors Swift cannot use directly. Returns 1 on success. */
static inline int xg_hkdf_sha256(const unsigned char *key, size_t keylen, const unsigned char *salt, size_t saltlen,
                                 const unsigned char *info, size_t infolen, unsigned char *out, size_t outlen) {
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, OSSL_KDF_NAME_HKDF, NULL);
    if (kdf == NULL) return 0;
    EVP_KDF_CTX *ctx = EVP_KDF_CTX_new(kdf);
    EVP_KDF_free(kdf);
    if (ctx == NULL) return 0;
    OSSL_PARAM params[5];
    int n = 0;
    params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
    params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)key, keylen);
    if (saltlen > 0) params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, saltlen);
    params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, infolen);
    params[n] = OSSL_PARAM_construct_end();
    int ok = EVP_KDF_derive(ctx, out, outlen, params) == 1;
    EVP_KDF_CTX_free(ctx);
    return ok;
}
#endif
