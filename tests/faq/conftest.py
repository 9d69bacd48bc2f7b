"""Small hand-made FAQ fixtures in Indonesian and English."""

from __future__ import annotations

import pytest

from faq import Engine, Entry


def make_entries() -> list[Entry]:
    return [
        Entry(
            "ongkir",
            "Bagaimana cara menghitung ongkos kirim?",
            "Ongkos kirim dihitung dari berat paket dan alamat tujuan di halaman checkout.",
            "shipping",
            ("ongkir", "biaya pengiriman"),
        ),
        Entry(
            "retur",
            "Bagaimana cara mengembalikan barang?",
            "Ajukan pengembalian lewat menu Pesanan Saya dalam 7 hari setelah barang diterima.",
            "returns",
            ("retur", "pengembalian barang"),
        ),
        Entry(
            "refund-time",
            "Berapa lama proses pengembalian dana?",
            "Dana masuk ke rekening atau kartu Anda dalam 3 sampai 7 hari kerja.",
            "returns",
            ("refund", "lama refund"),
        ),
        Entry(
            "garansi",
            "Apakah produk elektronik bergaransi resmi?",
            "Semua elektronik kami bergaransi resmi distributor selama 12 bulan.",
            "warranty",
            ("garansi", "garansi resmi"),
        ),
        Entry(
            "cod",
            "Apakah bisa bayar di tempat?",
            "Bisa, pilih COD di halaman checkout. Siapkan uang tunai saat kurir datang.",
            "payment",
            ("COD", "bayar di tempat"),
        ),
        Entry(
            "intl",
            "Do you ship internationally?",
            "Yes, we ship to most countries in Asia, Europe and North America by DHL.",
            "shipping",
            ("international shipping", "abroad"),
            lang="en",
        ),
        Entry(
            "password",
            "How do I reset my password?",
            "Tap Forgot password on the login page and follow the link we email you.",
            "account",
            ("forgot password", "reset password"),
            lang="en",
        ),
        Entry(
            "size",
            "How do I choose the right size?",
            "Every product page has a size chart in centimetres. Measure yourself and compare.",
            "products",
            ("size chart", "size guide"),
            lang="en",
        ),
    ]


@pytest.fixture(scope="session")
def engine() -> Engine:
    # Read-only tests share one engine; tests that edit build their own.
    return Engine(make_entries())
