#!/bin/sh
# Rebuilds the committed seed corpora from their DTS sources with dtc
# (run from the package root; `make fuzz-seeds`). Seeds are named after
# their source; crashers (crash-*, leak-*, timeout-*) are never touched.
set -eu

# -f: some seeds are deliberately broken (clashing phandles); a syntax
# error still fails, and is shown by the second, unforced run.
compile() { # SOURCE OUTPUT
	dtc -q -f -I dts -O dtb -o "$2" "$1" 2>/dev/null || dtc -q -I dts -O dtb -o /dev/null "$1"
}

mkdir -p Fuzz/corpus/dtb Fuzz/corpus/partial-dt
rm -f Fuzz/corpus/dtb/*.dtb Fuzz/corpus/partial-dt/*.dtb

# Whole guest trees: the layout goldens (grantdt's own output), the
# examples, the binder's fixtures and rule fixtures, the schema fixtures.
for source in Tests/GuestLayoutTests/Golden/*.dts; do
	case $source in *.input.dts) continue ;; esac
	compile "$source" "Fuzz/corpus/dtb/golden-$(basename "$source" .dts).dtb"
done
# An example is a guest tree when its root model is libxl's XENVM-X.Y;
# otherwise it is a partial device tree (a device_tree= input).
find examples -name '*.dts' | sort | while read -r source; do
	if grep -q 'model = "XENVM-' "$source"; then
		compile "$source" "Fuzz/corpus/dtb/example-$(basename "$source" .dts).dtb"
	else
		compile "$source" "Fuzz/corpus/partial-dt/example-$(basename "$source" .dts).dtb"
	fi
done
for source in Tests/VirtioRuntimeTests/Fixtures/*.dts Tests/VirtioRuntimeTests/Fixtures/rules/*.dts; do
	compile "$source" "Fuzz/corpus/dtb/runtime-$(basename "$source" .dts).dtb"
done
for source in Tests/SchemaTests/Fixtures/bad/*.dts; do
	compile "$source" "Fuzz/corpus/dtb/schema-$(basename "$source" .dts).dtb"
done

# Partial device trees: the golden's input and hand-written edge cases.
compile Tests/GuestLayoutTests/Golden/partial-dt.input.dts Fuzz/corpus/partial-dt/golden-partial-dt.dtb
for source in Fuzz/seeds/partial-dt/*.dts; do
	compile "$source" "Fuzz/corpus/partial-dt/$(basename "$source" .dts).dtb"
done

# xl.cfg configs: the hand-written seeds, the front end's rule fixtures
# and the examples.
mkdir -p Fuzz/corpus/xlcfg
rm -f Fuzz/corpus/xlcfg/*.cfg
cp Fuzz/seeds/xlcfg/*.cfg Fuzz/corpus/xlcfg/
for source in Tests/XLConfigTests/Fixtures/rules/*.cfg; do
	cp "$source" "Fuzz/corpus/xlcfg/rule-$(basename "$source")"
done
for source in examples/*.cfg; do
	cp "$source" "Fuzz/corpus/xlcfg/example-$(basename "$source")"
done
echo "seeds: $(ls Fuzz/corpus/dtb | wc -l) dtb, $(ls Fuzz/corpus/partial-dt | wc -l) partial-dt, $(ls Fuzz/corpus/xlcfg | wc -l) xlcfg"
