/*
 * types.h - the plain types that stages hand each other through the engine.
 *
 * Stages share nothing else: a packet view filled by decode, a flow key, a
 * chunk of content for the matcher and a validated PII value for burst. None
 * of these own memory: a packet view points into the capture buffer and is
 * valid until the engine takes the next packet; a chunk points into a
 * decoder's or the packet's buffer and is valid for the duration of the call
 * it is passed to.
 */
#ifndef LEAKWATCH_TYPES_H
#define LEAKWATCH_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* An IPv4 or IPv6 address. IPv4 uses b[0..3]; the rest stays zero so that
 * addresses compare and hash with memcmp over the whole struct. */
typedef struct lw_addr {
    uint8_t family; /* 4 or 6; 0 = unset */
    uint8_t b[16];
} lw_addr;

/* TCP flag bits as on the wire. */
enum {
    LW_TCP_FIN = 0x01,
    LW_TCP_SYN = 0x02,
    LW_TCP_RST = 0x04,
    LW_TCP_PSH = 0x08,
    LW_TCP_ACK = 0x10,
    LW_TCP_URG = 0x20,
};

enum { LW_PROTO_ICMP = 1, LW_PROTO_TCP = 6, LW_PROTO_UDP = 17, LW_PROTO_ICMPV6 = 58 };

/*
 * A packet as the capture stage hands it over (ts, data, caplen, wirelen,
 * linktype) and as decode fills it in (the rest). Pointers are into data.
 */
typedef struct lw_packet {
    /* from capture */
    uint64_t ts_us;      /* packet time, microseconds since the epoch */
    const uint8_t *data; /* captured bytes */
    uint32_t caplen;     /* bytes captured */
    uint32_t wirelen;    /* bytes on the wire (>= caplen) */
    int linktype;        /* DLT_* of the capture */

    /* from decode */
    uint8_t ip_version; /* 4 or 6 */
    uint8_t proto;      /* IP protocol of the transport header (after IPv6 ext headers) */
    lw_addr src, dst;
    uint16_t vlan[2]; /* outer, inner 802.1Q ids; 0 = none */
    uint8_t vlan_count;

    /* IP fragment: set when this packet is a fragment (not yet reassembled) */
    bool is_fragment;
    uint32_t frag_id;            /* IPv4 id (16 bits) or IPv6 fragment id */
    uint32_t frag_offset;        /* bytes */
    bool frag_more;              /* MF flag */
    uint8_t frag_proto;          /* protocol of the fragmented payload (IPv4 protocol, or the
                                    IPv6 fragment header's next header) */
    const uint8_t *frag_data;    /* this fragment's share of the payload: after the IPv4
                                    header, or after the IPv6 fragment header */
    uint32_t frag_data_len;      /* captured bytes of it */
    uint32_t frag_data_wire_len; /* bytes of it the headers declare (>= frag_data_len) */

    /* transport (valid when proto is TCP or UDP and not a non-first fragment) */
    uint16_t sport, dport;
    uint32_t tcp_seq, tcp_ack;
    uint8_t tcp_flags;
    const uint8_t *payload;    /* L4 payload, clamped to what was captured */
    uint32_t payload_len;      /* captured payload bytes */
    uint32_t payload_wire_len; /* payload bytes the headers declare (>= payload_len) */
} lw_packet;

/* Direction inside a flow: 0 = client to server (the initiator's bytes), 1 = back. */
enum { LW_DIR_TOSERVER = 0, LW_DIR_TOCLIENT = 1 };

/* The application protocol a flow was identified as. */
typedef enum lw_app_proto {
    LW_APP_UNKNOWN = 0,
    LW_APP_HTTP,
    LW_APP_SMTP,
    LW_APP_DNS,
    LW_APP_TLS,
    LW_APP_FTP,
    LW_APP_FTP_DATA, /* a data connection announced on an FTP control channel */
    LW_APP_FAILED,   /* looked, found nothing known */
    LW_APP_MAX
} lw_app_proto;

/* Suricata EVE app_proto names ("failed" for unidentified). */
const char *lw_app_proto_name(lw_app_proto p);

/* The built-in PII kinds; site signatures add their own kinds by name. */
#define LW_PII_VALUE_MAX 256 /* longest normalised value kept while validating */
#define LW_PII_MASK_MAX  96  /* longest masked sample */

/*
 * A validated PII value. `norm` holds the normalised clear value only for as
 * long as the engine needs to hash and mask it; it must never be written out.
 */
typedef struct lw_pii_value {
    uint16_t sig_index; /* signature that found it */
    uint16_t kind;      /* index into the signature set's kind names */
    uint16_t norm_len;
    char norm[LW_PII_VALUE_MAX];
    char masked[LW_PII_MASK_MAX]; /* NUL-terminated, safe to print */
} lw_pii_value;

#endif
