//! YAML read through serde_json, so every reader of YAML (the file provider, Traefik's static
//! file) gets the same values and the same error paths.

/// YAML goes through a JSON value: serde_yaml reads externally tagged enums (middleware types)
/// only as YAML tags, while Traefik files write them as maps. Errors name the path.
pub fn from_yaml<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, String> {
    let yaml: serde_yaml::Value = serde_yaml::from_str(text).map_err(|e| e.to_string())?;
    let json = serde_json::to_value(yaml).map_err(|e| e.to_string())?;
    serde_path_to_error::deserialize(json).map_err(|e| format!("{}: {}", e.path(), e.inner()))
}
