/*
 * The part of the libsrtp 3 API (versatica's fork, as mediasoup 3.27 calls it) that the
 * mediasoup worker uses, implemented over Debian's libsrtp 2 by srtp3.c and
 * srtp2-bridge.c. ../../README.md says what is emulated, what is refused and why.
 *
 * Anything not declared here is missing on purpose: check-srtp-api.sh fails the worker
 * build when the worker uses a srtp_* / SRTP_* name this header does not declare.
 *
 * libsrtp 2 exports the same function names with other signatures, and both end up in
 * the worker process, so every function here is bound to an ms_srtp3_* symbol with an
 * asm label; only srtp2-bridge.c ever sees libsrtp 2's own header.
 */
#ifndef MS_COMPAT_SRTP3_H
#define MS_COMPAT_SRTP3_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The same values as libsrtp 2 and 3: the most protect() may append (tag + MKI). */
#define SRTP_MAX_TAG_LEN 16
#define SRTP_MAX_MKI_LEN 128
#define SRTP_MAX_TRAILER_LEN (SRTP_MAX_TAG_LEN + SRTP_MAX_MKI_LEN)

/* libsrtp 3's numbering; 0..27 are libsrtp 2's as well (srtp3.c asserts it). */
typedef enum {
    srtp_err_status_ok = 0,
    srtp_err_status_fail = 1,
    srtp_err_status_bad_param = 2,
    srtp_err_status_alloc_fail = 3,
    srtp_err_status_dealloc_fail = 4,
    srtp_err_status_init_fail = 5,
    srtp_err_status_terminus = 6,
    srtp_err_status_auth_fail = 7,
    srtp_err_status_cipher_fail = 8,
    srtp_err_status_replay_fail = 9,
    srtp_err_status_replay_old = 10,
    srtp_err_status_algo_fail = 11,
    srtp_err_status_no_such_op = 12,
    srtp_err_status_no_ctx = 13,
    srtp_err_status_cant_check = 14,
    srtp_err_status_key_expired = 15,
    srtp_err_status_socket_err = 16,
    srtp_err_status_signal_err = 17,
    srtp_err_status_nonce_bad = 18,
    srtp_err_status_read_fail = 19,
    srtp_err_status_write_fail = 20,
    srtp_err_status_parse_err = 21,
    srtp_err_status_encode_err = 22,
    srtp_err_status_semaphore_err = 23,
    srtp_err_status_pfkey_err = 24,
    srtp_err_status_bad_mki = 25,
    srtp_err_status_pkt_idx_old = 26,
    srtp_err_status_pkt_idx_adv = 27,
    srtp_err_status_buffer_small = 28,
    srtp_err_status_cryptex_err = 29
} srtp_err_status_t;

typedef enum {
    ssrc_undefined = 0,
    ssrc_specific = 1,
    ssrc_any_inbound = 2,
    ssrc_any_outbound = 3
} srtp_ssrc_type_t;

typedef struct {
    srtp_ssrc_type_t type;
    uint32_t value;
} srtp_ssrc_t;

/* Only the four profiles mediasoup offers; the values are this layer's own. */
typedef enum {
    srtp_profile_reserved = 0,
    srtp_profile_aes128_cm_sha1_80,
    srtp_profile_aes128_cm_sha1_32,
    srtp_profile_aead_aes_128_gcm,
    srtp_profile_aead_aes_256_gcm
} srtp_profile_t;

/* A libsrtp 2 session; callers never look inside. */
typedef struct srtp_ctx_t_ *srtp_t;

/* A policy owned by this layer (srtp3.c). */
typedef struct srtp_policy_ctx_t_ *srtp_policy_t;

typedef enum {
    event_ssrc_collision,
    event_key_soft_limit,
    event_key_hard_limit,
    event_packet_index_limit
} srtp_event_t;

typedef struct {
    srtp_t session;
    uint32_t ssrc; /* host byte order */
    srtp_event_t event;
} srtp_event_data_t;

typedef void(srtp_event_handler_func_t)(srtp_event_data_t *data);

#define MS_SRTP3_SYMBOL(name) __asm__("ms_srtp3_" #name)

srtp_err_status_t srtp_init(void) MS_SRTP3_SYMBOL(init);
srtp_err_status_t srtp_shutdown(void) MS_SRTP3_SYMBOL(shutdown);
/* "libsrtp3 API subset (mediasoup-compat) over libsrtp2 x.y.z". */
const char *srtp_get_version_string(void) MS_SRTP3_SYMBOL(get_version_string);
srtp_err_status_t srtp_install_event_handler(srtp_event_handler_func_t func)
    MS_SRTP3_SYMBOL(install_event_handler);

srtp_err_status_t srtp_policy_create(srtp_policy_t *policy) MS_SRTP3_SYMBOL(policy_create);
/* Wipes the key material. NULL is ignored. */
void srtp_policy_destroy(srtp_policy_t policy) MS_SRTP3_SYMBOL(policy_destroy);
/* ssrc_specific (value in host byte order), ssrc_any_inbound or ssrc_any_outbound. */
srtp_err_status_t srtp_policy_set_ssrc(srtp_policy_t policy, srtp_ssrc_t ssrc)
    MS_SRTP3_SYMBOL(policy_set_ssrc);
srtp_err_status_t srtp_policy_set_profile(srtp_policy_t policy, srtp_profile_t profile)
    MS_SRTP3_SYMBOL(policy_set_profile);
/* One master key; mki must be NULL and mki_len 0 (no MKI). Lengths must match the
 * profile by srtp_create(). */
srtp_err_status_t srtp_policy_add_key(srtp_policy_t policy, const uint8_t *key,
                                      size_t key_len, const uint8_t *salt,
                                      size_t salt_len, const uint8_t *mki,
                                      size_t mki_len) MS_SRTP3_SYMBOL(policy_add_key);
/* 0 (libsrtp's default of 128) or 64..0x7fff packets. */
srtp_err_status_t srtp_policy_set_window_size(srtp_policy_t policy, size_t window_size)
    MS_SRTP3_SYMBOL(policy_set_window_size);
srtp_err_status_t srtp_policy_set_allow_repeat_tx(srtp_policy_t policy, bool allow)
    MS_SRTP3_SYMBOL(policy_set_allow_repeat_tx);
/* libsrtp 2 has no cryptex (RFC 9335): true is refused with srtp_err_status_cryptex_err. */
srtp_err_status_t srtp_policy_set_cryptex(srtp_policy_t policy, bool use_cryptex)
    MS_SRTP3_SYMBOL(policy_set_cryptex);

size_t srtp_profile_get_master_key_length(srtp_profile_t profile)
    MS_SRTP3_SYMBOL(profile_get_master_key_length);
size_t srtp_profile_get_master_salt_length(srtp_profile_t profile)
    MS_SRTP3_SYMBOL(profile_get_master_salt_length);

/* The policy is copied; it may be destroyed right after. A policy is required. */
srtp_err_status_t srtp_create(srtp_t *session, const srtp_policy_t policy)
    MS_SRTP3_SYMBOL(create);
srtp_err_status_t srtp_dealloc(srtp_t session) MS_SRTP3_SYMBOL(dealloc);
/* ssrc in network byte order, as libsrtp 2 takes it and as mediasoup 3.27.1 passes it
 * (htonl); libsrtp 3's own documentation says host order (README.md). */
srtp_err_status_t srtp_stream_remove(srtp_t session, uint32_t ssrc)
    MS_SRTP3_SYMBOL(stream_remove);

/*
 * *out_len is the capacity of out on entry and the packet's length on success; out may
 * be in (in place). protect needs a capacity of at least in_len + SRTP_MAX_TRAILER_LEN
 * (RTCP: 4 more, for the SRTCP index) and unprotect at least in_len, else
 * srtp_err_status_buffer_small. mki_index must be 0 (no MKI).
 */
srtp_err_status_t srtp_protect(srtp_t session, const uint8_t *in, size_t in_len,
                               uint8_t *out, size_t *out_len, size_t mki_index)
    MS_SRTP3_SYMBOL(protect);
srtp_err_status_t srtp_unprotect(srtp_t session, const uint8_t *in, size_t in_len,
                                 uint8_t *out, size_t *out_len) MS_SRTP3_SYMBOL(unprotect);
srtp_err_status_t srtp_protect_rtcp(srtp_t session, const uint8_t *in, size_t in_len,
                                    uint8_t *out, size_t *out_len, size_t mki_index)
    MS_SRTP3_SYMBOL(protect_rtcp);
srtp_err_status_t srtp_unprotect_rtcp(srtp_t session, const uint8_t *in, size_t in_len,
                                      uint8_t *out, size_t *out_len)
    MS_SRTP3_SYMBOL(unprotect_rtcp);

#undef MS_SRTP3_SYMBOL

#ifdef __cplusplus
}
#endif

#endif
