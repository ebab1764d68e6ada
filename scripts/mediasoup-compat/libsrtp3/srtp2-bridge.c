/*
 * The libsrtp 2 side of the layer (srtp2-bridge.h): the only file that includes
 * libsrtp 2's header, so the names here are libsrtp 2's.
 */
#include "srtp2-bridge.h"

#include <limits.h>
#include <string.h>
#include <srtp2/srtp.h>

MS_SRTP_SHARED_STATUSES(MS_SRTP_ASSERT_STATUS)

static srtp_profile_t v2_profile(enum ms_srtp2_profile profile)
{
    switch (profile) {
    case MS_SRTP2_AES128_CM_SHA1_80:
        return srtp_profile_aes128_cm_sha1_80;
    case MS_SRTP2_AES128_CM_SHA1_32:
        return srtp_profile_aes128_cm_sha1_32;
    case MS_SRTP2_AEAD_AES_128_GCM:
        return srtp_profile_aead_aes_128_gcm;
    case MS_SRTP2_AEAD_AES_256_GCM:
        return srtp_profile_aead_aes_256_gcm;
    }
    return srtp_profile_reserved;
}

int ms_srtp2_init(void)
{
    return srtp_init();
}

int ms_srtp2_shutdown(void)
{
    return srtp_shutdown();
}

const char *ms_srtp2_version_string(void)
{
    return srtp_get_version_string();
}

/* libsrtp 2 keeps one global handler too. */
static ms_srtp2_event_handler *event_handler;

static void forward_event(srtp_event_data_t *data)
{
    enum ms_srtp2_event event;

    switch (data->event) {
    case event_ssrc_collision:
        event = MS_SRTP2_EVENT_SSRC_COLLISION;
        break;
    case event_key_soft_limit:
        event = MS_SRTP2_EVENT_KEY_SOFT_LIMIT;
        break;
    case event_key_hard_limit:
        event = MS_SRTP2_EVENT_KEY_HARD_LIMIT;
        break;
    case event_packet_index_limit:
        event = MS_SRTP2_EVENT_PACKET_INDEX_LIMIT;
        break;
    default:
        return;
    }
    if (event_handler != NULL) {
        event_handler(data->session, data->ssrc, event);
    }
}

int ms_srtp2_install_event_handler(ms_srtp2_event_handler *handler)
{
    event_handler = handler;
    return srtp_install_event_handler(handler != NULL ? forward_event : NULL);
}

size_t ms_srtp2_master_key_length(enum ms_srtp2_profile profile)
{
    return srtp_profile_get_master_key_length(v2_profile(profile));
}

size_t ms_srtp2_master_salt_length(enum ms_srtp2_profile profile)
{
    return srtp_profile_get_master_salt_length(v2_profile(profile));
}

int ms_srtp2_create(void **session, const struct ms_srtp2_stream *stream)
{
    srtp_policy_t policy;
    srtp_err_status_t status;

    memset(&policy, 0, sizeof(policy));
    switch (stream->ssrc_type) {
    case MS_SRTP2_SSRC_SPECIFIC:
        policy.ssrc.type = ssrc_specific;
        policy.ssrc.value = stream->ssrc;
        break;
    case MS_SRTP2_SSRC_ANY_INBOUND:
        policy.ssrc.type = ssrc_any_inbound;
        break;
    case MS_SRTP2_SSRC_ANY_OUTBOUND:
        policy.ssrc.type = ssrc_any_outbound;
        break;
    }
    status = srtp_crypto_policy_set_from_profile_for_rtp(&policy.rtp, v2_profile(stream->profile));
    if (status == srtp_err_status_ok) {
        status = srtp_crypto_policy_set_from_profile_for_rtcp(&policy.rtcp,
                                                              v2_profile(stream->profile));
    }
    if (status != srtp_err_status_ok) {
        return status;
    }
    /* libsrtp 2 reads the key and the salt from one buffer, the salt right after the key. */
    policy.key = (unsigned char *)stream->key_and_salt;
    policy.window_size = stream->window_size;
    policy.allow_repeat_tx = stream->allow_repeat_tx;

    srtp_t created = NULL;
    status = srtp_create(&created, &policy);
    *session = created;
    return status;
}

int ms_srtp2_dealloc(void *session)
{
    return srtp_dealloc(session);
}

int ms_srtp2_remove_stream(void *session, uint32_t ssrc_network_order)
{
    return srtp_remove_stream(session, ssrc_network_order);
}

size_t ms_srtp2_trailer_room(bool rtcp)
{
    /* srtp.h: srtp_protect_rtcp() "assumes that it can write SRTP_MAX_TRAILER_LEN+4". */
    return SRTP_MAX_TRAILER_LEN + (rtcp ? 4 : 0);
}

int ms_srtp2_protect(void *session, uint8_t *packet, size_t *len, bool rtcp)
{
    if (*len > (size_t)INT_MAX - ms_srtp2_trailer_room(rtcp)) {
        return srtp_err_status_bad_param;
    }
    int v2_len = (int)*len;
    srtp_err_status_t status = rtcp ? srtp_protect_rtcp(session, packet, &v2_len)
                                    : srtp_protect(session, packet, &v2_len);
    if (status == srtp_err_status_ok) {
        *len = (size_t)v2_len;
    }
    return status;
}

int ms_srtp2_unprotect(void *session, uint8_t *packet, size_t *len, bool rtcp)
{
    if (*len > (size_t)INT_MAX) {
        return srtp_err_status_bad_param;
    }
    int v2_len = (int)*len;
    srtp_err_status_t status = rtcp ? srtp_unprotect_rtcp(session, packet, &v2_len)
                                    : srtp_unprotect(session, packet, &v2_len);
    if (status == srtp_err_status_ok) {
        *len = (size_t)v2_len;
    }
    return status;
}
