"""Helpers of the object-storage tests."""

from __future__ import annotations


def keys(s3_client, bucket: str, prefix: str = "") -> list[str]:
    """Every object key under ``prefix``, sorted."""
    pages = s3_client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return sorted(o["Key"] for page in pages for o in page.get("Contents", []))
