#!/usr/bin/perl
#
# make_mmdb.pl - writes the tiny MaxMind-format databases the GeoIP tests use.
#
#   make_mmdb.pl OUTDIR              test-country.mmdb, test-asn.mmdb, test-city.mmdb
#   make_mmdb.pl --hostile OUTDIR    test-hostile.mmdb only (see below)
#
# Every network is a documentation range (RFC 5737 TEST-NET-1/2/3, RFC 3849
# 2001:db8::/32) and every organisation is fictional; 100.64.0.0/10 (RFC 6598)
# is deliberately left empty so a test has an address that is in no network.
# The record layout is the GeoLite2 one (country.iso_code, country.names.en,
# city.names.en, autonomous_system_number, autonomous_system_organization).
#
# Determinism: the writer stamps metadata.build_epoch with time() unless it is
# set; MaxMind::DB::Writer::Tree has a (private, test-only) _build_epoch
# constructor argument for exactly this, so a fixed epoch is passed and two runs
# give identical bytes. remove_reserved_networks must be off, or the writer
# silently drops the documentation ranges. alias_ipv6_to_ipv4 makes IPv4
# lookups in the IPv6 tree (::a.b.c.d, ::ffff:a.b.c.d, 6to4, Teredo) work.
#
# --hostile writes one database of type "LeakwatchTest-City-ASN" (so it fits
# every role) whose strings carry control bytes, invalid UTF-8 and overlong
# text, and whose values have the wrong types, for the sanitising tests.
#
# Needs the Debian package libmaxmind-db-writer-perl.
use strict;
use warnings;

use MaxMind::DB::Writer::Tree;

my $BUILD_EPOCH = 1_700_000_000; # fixed: 2023-11-14, for byte-identical output

my %types = (
    country                        => 'map',
    registered_country             => 'map',
    city                           => 'map',
    names                          => 'map',
    iso_code                       => 'utf8_string',
    en                             => 'utf8_string',
    autonomous_system_number       => 'uint32',
    autonomous_system_organization => 'utf8_string',
);

sub new_tree {
    my ( $type, $description, $callback ) = @_;
    return MaxMind::DB::Writer::Tree->new(
        ip_version               => 6,
        record_size              => 24,
        database_type            => $type,
        languages                => ['en'],
        description              => { en => $description },
        map_key_type_callback    => $callback // sub { $types{ $_[0] } },
        alias_ipv6_to_ipv4       => 1,
        remove_reserved_networks => 0,
        _build_epoch             => $BUILD_EPOCH,
    );
}

sub write_tree {
    my ( $tree, $path ) = @_;
    open my $fh, '>:raw', $path or die "$path: $!\n";
    $tree->write_tree($fh);
    close $fh or die "$path: $!\n";
}

sub country {
    my ( $iso, $name ) = @_;
    return { iso_code => $iso, names => { en => $name } };
}

sub write_fixtures {
    my ($dir) = @_;

    my $c = new_tree( 'LeakwatchTest-Country', 'leakwatch test country database' );
    $c->insert_network( '203.0.113.0/24',  { country => country( 'DE', 'Germany' ) } );
    $c->insert_network( '198.51.100.0/24', { country => country( 'US', 'United States' ) } );
    $c->insert_network( '192.0.2.0/24',    { country => country( 'NL', 'Netherlands' ) } );
    $c->insert_network( '2001:db8::/32',   { country => country( 'FR', 'France' ) } );
    write_tree( $c, "$dir/test-country.mmdb" );

    my $a = new_tree( 'LeakwatchTest-ASN', 'leakwatch test ASN database' );
    my %asn = (
        '203.0.113.0/24'  => [ 64500, 'Example CRM Vendor GmbH' ],
        '198.51.100.0/24' => [ 64501, 'Example Paste Hosting' ],
        '192.0.2.0/24'    => [ 64502, 'Example Transit' ],
    );
    for my $net ( sort keys %asn ) {
        $a->insert_network(
            $net,
            {
                autonomous_system_number       => $asn{$net}[0],
                autonomous_system_organization => $asn{$net}[1],
            }
        );
    }
    write_tree( $a, "$dir/test-asn.mmdb" );

    my $y = new_tree( 'LeakwatchTest-City', 'leakwatch test city database' );
    $y->insert_network(
        '203.0.113.0/24',
        { country => country( 'DE', 'Germany' ), city => { names => { en => 'Berlin' } } }
    );
    write_tree( $y, "$dir/test-city.mmdb" );
}

sub write_hostile {
    my ($dir) = @_;

    # The writer asks for a type per (key, value), so here the type follows
    # the value's shape: a hash is a map, an array an array of strings, a
    # run of digits an unsigned integer (uint64 when it does not fit 32
    # bits), anything else a UTF-8 string. That lets a field carry a value
    # of the wrong type.
    my $shape = sub {
        my ( $key, $value ) = @_;
        return 'map' if ref $value eq 'HASH';
        return [ 'array', 'utf8_string' ] if ref $value eq 'ARRAY';
        if ( $value =~ /\A[0-9]+\z/ ) {
            return $value > 0xffffffff ? 'uint64' : 'uint32';
        }
        return 'utf8_string';
    };
    my $t = new_tree( 'LeakwatchTest-City-ASN', 'leakwatch hostile test database', $shape );

    # 203.0.113.0/24: control bytes, DEL, an ESC sequence, and strings longer
    # than the lw_geo fields (the city is 100 two-byte characters, so a cut
    # in the middle of one must be avoided).
    $t->insert_network(
        '203.0.113.0/24',
        {
            country => {
                iso_code => "D\nE",
                names    => { en => "Ger\x{1b}[31mmany\x{7f}" },
            },
            city => { names => { en => ( "\x{e9}" x 100 ) } },
            autonomous_system_number       => 64666,
            autonomous_system_organization => "Evil\r\n{\"org\":1}\tCorp" . ( 'x' x 300 ),
        }
    );

    # 198.51.100.0/24: only registered_country, so the fallback is used.
    $t->insert_network(
        '198.51.100.0/24',
        { registered_country => { iso_code => 'SE', names => { en => 'Sweden' } } }
    );

    # 192.0.2.0/24: every field present with the wrong type; none may be read.
    $t->insert_network(
        '192.0.2.0/24',
        {
            country                        => { iso_code => 42, names => { en => { x => 'y' } } },
            city                           => { names    => { en => ['Nowhere'] } },
            autonomous_system_number       => 'AS64502',
            autonomous_system_organization => ['Array Org'],
        }
    );

    # 2001:db8::/32: an AS number that does not fit 32 bits (rejected, not
    # cut) next to a usable organisation name.
    $t->insert_network(
        '2001:db8::/32',
        {
            autonomous_system_number       => 4294967297,
            autonomous_system_organization => 'Wide Org',
        }
    );
    write_tree( $t, "$dir/test-hostile.mmdb" );
}

my $hostile = 0;
if ( @ARGV && $ARGV[0] eq '--hostile' ) {
    $hostile = 1;
    shift @ARGV;
}
die "usage: $0 [--hostile] OUTDIR\n" unless @ARGV == 1 && -d $ARGV[0];
if   ($hostile) { write_hostile( $ARGV[0] ) }
else            { write_fixtures( $ARGV[0] ) }
