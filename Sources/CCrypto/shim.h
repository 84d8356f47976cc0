// OpenSSL's libcrypto from the system (Debian: libssl-dev), for one SHA-256 of the model
// file: swift-crypto would compile BoringSSL (255 units) into every build for it.
#include <openssl/evp.h>
