/*
 * The seam between srtp3.c (which implements include/srtp.h, libsrtp 3's names) and
 * srtp2-bridge.c (the only file that includes libsrtp 2's header). The two headers
 * declare the same names differently, so no file can see both; this interface uses
 * plain C types only, and both files include it, so the compiler checks each side.
 */
#ifndef MS_COMPAT_SRTP2_BRIDGE_H
#define MS_COMPAT_SRTP2_BRIDGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Status codes travel as int: libsrtp 2's srtp_err_status_t numbers, which libsrtp 3
 * kept. Each side asserts its own enum against this list, so a renumbering on either
 * side fails the compile.
 */
#define MS_SRTP_SHARED_STATUSES(X)                                                      \
    X(ok, 0) X(fail, 1) X(bad_param, 2) X(alloc_fail, 3) X(dealloc_fail, 4)            \
    X(init_fail, 5) X(terminus, 6) X(auth_fail, 7) X(cipher_fail, 8) X(replay_fail, 9) \
    X(replay_old, 10) X(algo_fail, 11) X(no_such_op, 12) X(no_ctx, 13)                 \
    X(cant_check, 14) X(key_expired, 15) X(socket_err, 16) X(signal_err, 17)           \
    X(nonce_bad, 18) X(read_fail, 19) X(write_fail, 20) X(parse_err, 21)               \
    X(encode_err, 22) X(semaphore_err, 23) X(pfkey_err, 24) X(bad_mki, 25)             \
    X(pkt_idx_old, 26) X(pkt_idx_adv, 27)

#define MS_SRTP_ASSERT_STATUS(name, value)                                              \
    _Static_assert(srtp_err_status_##name == (value), "srtp_err_status_" #name " moved");

enum ms_srtp2_profile {
    MS_SRTP2_AES128_CM_SHA1_80,
    MS_SRTP2_AES128_CM_SHA1_32,
    MS_SRTP2_AEAD_AES_128_GCM,
    MS_SRTP2_AEAD_AES_256_GCM
};

enum ms_srtp2_ssrc_type { MS_SRTP2_SSRC_SPECIFIC, MS_SRTP2_SSRC_ANY_INBOUND, MS_SRTP2_SSRC_ANY_OUTBOUND };

enum ms_srtp2_event {
    MS_SRTP2_EVENT_SSRC_COLLISION,
    MS_SRTP2_EVENT_KEY_SOFT_LIMIT,
    MS_SRTP2_EVENT_KEY_HARD_LIMIT,
    MS_SRTP2_EVENT_PACKET_INDEX_LIMIT
};

/* One stream policy, already validated by srtp3.c. */
struct ms_srtp2_stream {
    enum ms_srtp2_ssrc_type ssrc_type;
    uint32_t ssrc; /* host byte order, for MS_SRTP2_SSRC_SPECIFIC */
    enum ms_srtp2_profile profile;
    const uint8_t *key_and_salt; /* the master key followed by the master salt */
    size_t window_size;          /* 0: libsrtp's default */
    bool allow_repeat_tx;
};

typedef void ms_srtp2_event_handler(void *session, uint32_t ssrc, enum ms_srtp2_event event);

int ms_srtp2_init(void);
int ms_srtp2_shutdown(void);
const char *ms_srtp2_version_string(void);
/* NULL: events are ignored. */
int ms_srtp2_install_event_handler(ms_srtp2_event_handler *handler);

size_t ms_srtp2_master_key_length(enum ms_srtp2_profile profile);
size_t ms_srtp2_master_salt_length(enum ms_srtp2_profile profile);

int ms_srtp2_create(void **session, const struct ms_srtp2_stream *stream);
int ms_srtp2_dealloc(void *session);
int ms_srtp2_remove_stream(void *session, uint32_t ssrc_network_order);

/* The room libsrtp 2 needs after a packet it protects in place. */
size_t ms_srtp2_trailer_room(bool rtcp);

/* In place: *len is the packet's length before and after. protect needs
 * ms_srtp2_trailer_room(rtcp) writable bytes after the packet. */
int ms_srtp2_protect(void *session, uint8_t *packet, size_t *len, bool rtcp);
int ms_srtp2_unprotect(void *session, uint8_t *packet, size_t *len, bool rtcp);

#endif
