/*
 * libsrtp 3's API (include/srtp.h) over libsrtp 2 (srtp2-bridge.h). What it emulates
 * and what it refuses: ../README.md.
 */
#include "srtp.h"
#include "srtp2-bridge.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

MS_SRTP_SHARED_STATUSES(MS_SRTP_ASSERT_STATUS)

/* libsrtp 3 caps key + salt at SRTP_MAX_KEY_LEN (64). */
#define MAX_KEY_AND_SALT_LEN 64

struct srtp_policy_ctx_t_ {
    srtp_ssrc_t ssrc;
    srtp_profile_t profile;
    bool has_key;
    uint8_t key_and_salt[MAX_KEY_AND_SALT_LEN];
    size_t key_len;
    size_t salt_len;
    size_t window_size;
    bool allow_repeat_tx;
};

static bool bridge_profile(srtp_profile_t profile, enum ms_srtp2_profile *out)
{
    switch (profile) {
    case srtp_profile_aes128_cm_sha1_80:
        *out = MS_SRTP2_AES128_CM_SHA1_80;
        return true;
    case srtp_profile_aes128_cm_sha1_32:
        *out = MS_SRTP2_AES128_CM_SHA1_32;
        return true;
    case srtp_profile_aead_aes_128_gcm:
        *out = MS_SRTP2_AEAD_AES_128_GCM;
        return true;
    case srtp_profile_aead_aes_256_gcm:
        *out = MS_SRTP2_AEAD_AES_256_GCM;
        return true;
    case srtp_profile_reserved:
        break;
    }
    return false;
}

srtp_err_status_t srtp_init(void)
{
    return (srtp_err_status_t)ms_srtp2_init();
}

srtp_err_status_t srtp_shutdown(void)
{
    return (srtp_err_status_t)ms_srtp2_shutdown();
}

static char version_string[128];
static pthread_once_t version_once = PTHREAD_ONCE_INIT;

static void build_version_string(void)
{
    snprintf(version_string, sizeof(version_string),
             "libsrtp3 API subset (mediasoup-compat) over %s", ms_srtp2_version_string());
}

const char *srtp_get_version_string(void)
{
    pthread_once(&version_once, build_version_string);
    return version_string;
}

static srtp_event_handler_func_t *event_handler;

static void forward_event(void *session, uint32_t ssrc, enum ms_srtp2_event event)
{
    srtp_event_data_t data = { .session = session, .ssrc = ssrc };

    switch (event) {
    case MS_SRTP2_EVENT_SSRC_COLLISION:
        data.event = event_ssrc_collision;
        break;
    case MS_SRTP2_EVENT_KEY_SOFT_LIMIT:
        data.event = event_key_soft_limit;
        break;
    case MS_SRTP2_EVENT_KEY_HARD_LIMIT:
        data.event = event_key_hard_limit;
        break;
    case MS_SRTP2_EVENT_PACKET_INDEX_LIMIT:
        data.event = event_packet_index_limit;
        break;
    }
    if (event_handler != NULL) {
        event_handler(&data);
    }
}

srtp_err_status_t srtp_install_event_handler(srtp_event_handler_func_t func)
{
    event_handler = func;
    return (srtp_err_status_t)ms_srtp2_install_event_handler(func != NULL ? forward_event
                                                                          : NULL);
}

srtp_err_status_t srtp_policy_create(srtp_policy_t *policy)
{
    if (policy == NULL) {
        return srtp_err_status_bad_param;
    }
    *policy = calloc(1, sizeof(**policy));
    return *policy != NULL ? srtp_err_status_ok : srtp_err_status_alloc_fail;
}

void srtp_policy_destroy(srtp_policy_t policy)
{
    if (policy != NULL) {
        explicit_bzero(policy, sizeof(*policy));
        free(policy);
    }
}

srtp_err_status_t srtp_policy_set_ssrc(srtp_policy_t policy, srtp_ssrc_t ssrc)
{
    if (policy == NULL || (ssrc.type != ssrc_specific && ssrc.type != ssrc_any_inbound &&
                           ssrc.type != ssrc_any_outbound)) {
        return srtp_err_status_bad_param;
    }
    policy->ssrc = ssrc;
    return srtp_err_status_ok;
}

srtp_err_status_t srtp_policy_set_profile(srtp_policy_t policy, srtp_profile_t profile)
{
    enum ms_srtp2_profile unused;

    if (policy == NULL || !bridge_profile(profile, &unused)) {
        return srtp_err_status_bad_param;
    }
    policy->profile = profile;
    return srtp_err_status_ok;
}

srtp_err_status_t srtp_policy_add_key(srtp_policy_t policy, const uint8_t *key,
                                      size_t key_len, const uint8_t *salt,
                                      size_t salt_len, const uint8_t *mki, size_t mki_len)
{
    /* One master key without MKI: a second key, or any MKI, is refused. */
    if (policy == NULL || key == NULL || salt == NULL || mki != NULL || mki_len != 0 ||
        policy->has_key || key_len > MAX_KEY_AND_SALT_LEN ||
        salt_len > MAX_KEY_AND_SALT_LEN - key_len) {
        return srtp_err_status_bad_param;
    }
    /* libsrtp 2 wants the salt right after the key, in one buffer. */
    memcpy(policy->key_and_salt, key, key_len);
    memcpy(policy->key_and_salt + key_len, salt, salt_len);
    policy->key_len = key_len;
    policy->salt_len = salt_len;
    policy->has_key = true;
    return srtp_err_status_ok;
}

srtp_err_status_t srtp_policy_set_window_size(srtp_policy_t policy, size_t window_size)
{
    if (policy == NULL || (window_size != 0 && (window_size < 64 || window_size > 0x7fff))) {
        return srtp_err_status_bad_param;
    }
    policy->window_size = window_size;
    return srtp_err_status_ok;
}

srtp_err_status_t srtp_policy_set_allow_repeat_tx(srtp_policy_t policy, bool allow)
{
    if (policy == NULL) {
        return srtp_err_status_bad_param;
    }
    policy->allow_repeat_tx = allow;
    return srtp_err_status_ok;
}

srtp_err_status_t srtp_policy_set_cryptex(srtp_policy_t policy, bool use_cryptex)
{
    if (policy == NULL) {
        return srtp_err_status_bad_param;
    }
    return use_cryptex ? srtp_err_status_cryptex_err : srtp_err_status_ok;
}

size_t srtp_profile_get_master_key_length(srtp_profile_t profile)
{
    enum ms_srtp2_profile v2;

    return bridge_profile(profile, &v2) ? ms_srtp2_master_key_length(v2) : 0;
}

size_t srtp_profile_get_master_salt_length(srtp_profile_t profile)
{
    enum ms_srtp2_profile v2;

    return bridge_profile(profile, &v2) ? ms_srtp2_master_salt_length(v2) : 0;
}

srtp_err_status_t srtp_create(srtp_t *session, const srtp_policy_t policy)
{
    struct ms_srtp2_stream stream;

    if (session == NULL || policy == NULL || !policy->has_key ||
        !bridge_profile(policy->profile, &stream.profile) ||
        policy->key_len != ms_srtp2_master_key_length(stream.profile) ||
        policy->salt_len != ms_srtp2_master_salt_length(stream.profile)) {
        return srtp_err_status_bad_param;
    }
    switch (policy->ssrc.type) {
    case ssrc_specific:
        stream.ssrc_type = MS_SRTP2_SSRC_SPECIFIC;
        break;
    case ssrc_any_inbound:
        stream.ssrc_type = MS_SRTP2_SSRC_ANY_INBOUND;
        break;
    case ssrc_any_outbound:
        stream.ssrc_type = MS_SRTP2_SSRC_ANY_OUTBOUND;
        break;
    case ssrc_undefined:
    default:
        return srtp_err_status_bad_param;
    }
    stream.ssrc = policy->ssrc.value;
    stream.key_and_salt = policy->key_and_salt;
    stream.window_size = policy->window_size;
    stream.allow_repeat_tx = policy->allow_repeat_tx;

    void *created = NULL;
    srtp_err_status_t status = (srtp_err_status_t)ms_srtp2_create(&created, &stream);
    *session = created;
    return status;
}

srtp_err_status_t srtp_dealloc(srtp_t session)
{
    return (srtp_err_status_t)ms_srtp2_dealloc(session);
}

srtp_err_status_t srtp_stream_remove(srtp_t session, uint32_t ssrc)
{
    return (srtp_err_status_t)ms_srtp2_remove_stream(session, ssrc);
}

/* libsrtp 2 works in place: copy in → out, then protect out where it lies. */
static srtp_err_status_t protect(srtp_t session, const uint8_t *in, size_t in_len,
                                 uint8_t *out, size_t *out_len, size_t mki_index, bool rtcp)
{
    if (session == NULL || in == NULL || out == NULL || out_len == NULL) {
        return srtp_err_status_bad_param;
    }
    if (mki_index != 0) {
        return srtp_err_status_bad_mki;
    }
    if (*out_len < in_len || *out_len - in_len < ms_srtp2_trailer_room(rtcp)) {
        return srtp_err_status_buffer_small;
    }
    memmove(out, in, in_len);
    size_t len = in_len;
    srtp_err_status_t status = (srtp_err_status_t)ms_srtp2_protect(session, out, &len, rtcp);
    if (status == srtp_err_status_ok) {
        *out_len = len;
    }
    return status;
}

static srtp_err_status_t unprotect(srtp_t session, const uint8_t *in, size_t in_len,
                                   uint8_t *out, size_t *out_len, bool rtcp)
{
    if (session == NULL || in == NULL || out == NULL || out_len == NULL) {
        return srtp_err_status_bad_param;
    }
    if (*out_len < in_len) {
        return srtp_err_status_buffer_small;
    }
    memmove(out, in, in_len);
    size_t len = in_len;
    srtp_err_status_t status = (srtp_err_status_t)ms_srtp2_unprotect(session, out, &len, rtcp);
    if (status == srtp_err_status_ok) {
        *out_len = len;
    } else if (out != in) {
        /* Unauthenticated bytes never reach a buffer the caller did not pass them in. */
        explicit_bzero(out, in_len);
    }
    return status;
}

srtp_err_status_t srtp_protect(srtp_t session, const uint8_t *in, size_t in_len,
                               uint8_t *out, size_t *out_len, size_t mki_index)
{
    return protect(session, in, in_len, out, out_len, mki_index, false);
}

srtp_err_status_t srtp_unprotect(srtp_t session, const uint8_t *in, size_t in_len,
                                 uint8_t *out, size_t *out_len)
{
    return unprotect(session, in, in_len, out, out_len, false);
}

srtp_err_status_t srtp_protect_rtcp(srtp_t session, const uint8_t *in, size_t in_len,
                                    uint8_t *out, size_t *out_len, size_t mki_index)
{
    return protect(session, in, in_len, out, out_len, mki_index, true);
}

srtp_err_status_t srtp_unprotect_rtcp(srtp_t session, const uint8_t *in, size_t in_len,
                                      uint8_t *out, size_t *out_len)
{
    return unprotect(session, in, in_len, out, out_len, true);
}
