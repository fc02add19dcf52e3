#!/usr/bin/env bash
# vendor.sh refreshes the dashboard's third-party scripts and styles in
# vendor/ from their npm packages, at the versions pinned below, and writes
# vendor/VENDOR: each file's package, version, licence and SHA-256. The
# files are committed: go build needs neither Node nor the network, and the
# pages load nothing from elsewhere. Run it after changing a version:
#
#   bash internal/web/static/vendor.sh
set -euo pipefail

HTMX_VERSION=2.0.11
UPLOT_VERSION=1.6.32

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out="$here/vendor"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# fetch PACKAGE VERSION: unpacks the package's tarball into $tmp/PACKAGE.
fetch() {
	mkdir -p "$tmp/$1"
	(cd "$tmp/$1" && npm pack --silent "$1@$2" >/dev/null && tar -xzf ./*.tgz)
}

fetch htmx.org "$HTMX_VERSION"
fetch uplot "$UPLOT_VERSION"

rm -rf "$out"
mkdir -p "$out"
cp "$tmp/htmx.org/package/dist/htmx.min.js" "$out/htmx.min.js"
cp "$tmp/htmx.org/package/LICENSE" "$out/htmx.LICENSE"
cp "$tmp/uplot/package/dist/uPlot.iife.min.js" "$out/uPlot.iife.min.js"
cp "$tmp/uplot/package/dist/uPlot.min.css" "$out/uPlot.min.css"
cp "$tmp/uplot/package/LICENSE" "$out/uPlot.LICENSE"

licence() { node -p "require('$tmp/$1/package/package.json').license"; }

{
	echo "# Written by vendor.sh; do not edit. file  package@version  licence  sha256"
	for f in htmx.min.js htmx.LICENSE; do
		echo "$f  htmx.org@$HTMX_VERSION  $(licence htmx.org)  $(sha256sum "$out/$f" | cut -d' ' -f1)"
	done
	for f in uPlot.iife.min.js uPlot.min.css uPlot.LICENSE; do
		echo "$f  uplot@$UPLOT_VERSION  $(licence uplot)  $(sha256sum "$out/$f" | cut -d' ' -f1)"
	done
} >"$out/VENDOR"
cat "$out/VENDOR"
