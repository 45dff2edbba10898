#!/bin/sh
# Builds build/deb/carp-for-linux_VERSION_ARCH.deb with dpkg-deb from a staged
# `pkg/install.sh` tree (PREFIX=/usr): no debian/ directory, no debhelper.
# Architecture-specific: netifaces-plus, a C extension for this python3, is in it.
# Run from the top of the checkout; PIP_PYTHON as for pkg/install.sh; OUT (build/deb).
set -eu
OUT=${OUT:-build/deb}
here=pkg/deb
name=carp-for-linux
version=$(sed -n 's/^version *= *//p' setup.cfg)-1
arch=$(dpkg --print-architecture)
root=$OUT/root
doc=$root/usr/share/doc/$name

rm -rf "$OUT"
mkdir -p "$root/DEBIAN" "$doc"
DESTDIR=$root PREFIX=/usr UNITDIR=/lib/systemd/system RUNTIME_PYTHON=/usr/bin/python3 \
  BYTECOMPILE=0 sh pkg/install.sh

# Debian's rules for what the tree holds: compressed man pages and changelog, the
# copyright file, no byte code (postinst compiles it), stripped shared objects, no
# shebang on a module that is not a program (two in pyroute2), regular modes.
find "$root" -name '*.so' -exec strip --strip-unneeded --remove-section=.comment \
  --remove-section=.note {} +
find "$root" -name '*.py' ! -perm -u+x -exec sed -i '1{/^#!/d}' {} +
find "$root" -path '*/man/man[0-9]/*' -type f -exec gzip -9n {} +
sed "s/@VERSION@/$version/" "$here/changelog" | gzip -9n > "$doc/changelog.Debian.gz"
install -m 644 "$here/copyright" "$doc/copyright"
install -D -m 644 "$here/lintian-overrides" "$root/usr/share/lintian/overrides/$name"
find "$root" -name __pycache__ -type d -prune -exec rm -rf {} +
find "$root" -type d -exec chmod 755 {} +
find "$root" -type f ! -perm -u+x -exec chmod 644 {} +
find "$root" -type f -perm -u+x -exec chmod 755 {} +

# The libc version the shared objects need, as dpkg-shlibdeps works it out: it wants
# a debian/control, which this build has no other use for.
shlibdeps() {
  tree=$(readlink -f "$root")
  work=$(mktemp -d)
  mkdir "$work/debian"
  printf 'Source: %s\n\nPackage: %s\nArchitecture: any\n' $name $name > "$work/debian/control"
  (cd "$work" && find "$tree" -name '*.so' -exec dpkg-shlibdeps -O {} + 2>/dev/null) |
    sed -n 's/^shlibs:Depends=//p'
  rm -rf "$work"
}
libs=$(shlibdeps)
# the Python the launchers run (/usr/bin/python3), up to its next minor version: the C
# extension is built for its ABI
python=$(/usr/bin/python3 -c 'import sys; v = sys.version_info
print(f"python3 (>= {v[0]}.{v[1]}), python3 (<< {v[0]}.{v[1] + 1})")')

# the maintainer scripts name the units the tree has (carpd's, and the examples')
units=$(cd "$root/lib/systemd/system" && echo *)
for script in postinst prerm postrm; do
  sed "s/@UNITS@/$units/" "$here/$script" > "$root/DEBIAN/$script"
  chmod 755 "$root/DEBIAN/$script"
done
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size/" \
  -e "s/@LIBS@/$libs/" -e "s/@PYTHON@/$python/" "$here/control.in" > "$root/DEBIAN/control"
# every file in /etc is the admin's to change: dpkg keeps their changes on upgrade
(cd "$root" && find etc -type f -printf '/%p\n' | sort) > "$root/DEBIAN/conffiles"
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z |
  xargs -0 md5sum) > "$root/DEBIAN/md5sums"
[ -s "$root/DEBIAN/conffiles" ] || rm "$root/DEBIAN/conffiles"
chmod 644 "$root/DEBIAN"/[!p]*  # control, md5sums, conffiles: not the scripts

dpkg-deb --root-owner-group -Zxz --build "$root" "$OUT/${name}_${version}_$arch.deb" >/dev/null
echo "$OUT/${name}_${version}_$arch.deb"
