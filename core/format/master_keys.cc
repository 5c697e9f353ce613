#include "core/format/master_keys.h"

#include "core/crypto/random.h"

namespace coffre::format {

MasterKeys MasterKeys::Generate() {
  MasterKeys keys;
  crypto::RandomFill(keys.data_key.data(), keys.data_key.size());
  crypto::RandomFill(keys.id_key.data(), keys.id_key.size());
  crypto::RandomFill(keys.chunker_key.data(), keys.chunker_key.size());
  return keys;
}

MasterKeys::~MasterKeys() {
  SecureWipe(data_key.data(), data_key.size());
  SecureWipe(id_key.data(), id_key.size());
  SecureWipe(chunker_key.data(), chunker_key.size());
}

}  // namespace coffre::format
