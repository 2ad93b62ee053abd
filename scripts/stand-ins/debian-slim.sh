#!/bin/sh
# Run by scripts/compose-images.sh in a container of the bare Debian 12
# image (scripts/docker.sh base-image), which it then exports and imports as
# the stand-in for Debian's official slim image (DEBIAN_IMAGE): what
# debuerreotype's slim variant leaves out (documentation but the copyright
# files, manual pages, info, locales), apt's lists and caches, and dpkg and
# apt told to keep it so, as the official image is.
set -eu

cat >/etc/dpkg/dpkg.cfg.d/docker <<'CFG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
CFG
cat >/etc/apt/apt.conf.d/docker-clean <<'CFG'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
CFG

find /usr/share/doc -mindepth 1 ! -type d ! -name copyright -delete
find /usr/share/doc -mindepth 1 -depth -type d -empty -delete
rm -rf /usr/share/man/* /usr/share/groff/* /usr/share/info/* \
  /usr/share/lintian/* /usr/share/linda/* /usr/share/locale/* \
  /var/lib/apt/lists/* /var/cache/apt/*.bin /var/cache/apt/archives/*.deb \
  /var/cache/debconf/*-old /var/log/*.log
