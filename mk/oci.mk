# The plugin as an OCI image (the layout Istio and Envoy Gateway pull).
# Included by the main Makefile (`-include mk/*.mk`); uses its `wasm` target.
#
#   make oci         target/oci/entra-guard.tar (+ target/oci/layout/, target/oci/digest),
#                    written by scripts/oci_image.py: no Docker engine, reproducible digest
#   make oci-check   docker load it and docker build deploy/oci/Dockerfile, and check both
#                    images hold exactly the built module as /plugin.wasm

OCI_DIR := target/oci

.PHONY: oci oci-check

oci: wasm ## OCI image of the plugin (FROM scratch + plugin.wasm) as target/oci/entra-guard.tar, no engine needed
	$(PYTHON) scripts/oci_image.py --wasm $(WASM) --out $(OCI_DIR)

oci-check: oci ## load target/oci/entra-guard.tar into Docker, build deploy/oci/Dockerfile, compare their plugin.wasm
	scripts/ensure-docker.sh
	scripts/oci-check.sh $(OCI_DIR)/entra-guard.tar $(WASM)
