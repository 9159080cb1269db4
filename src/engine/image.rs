//! Make sure the server image is there: use it, pull it, or explain how to build it.

use anyhow::Result;
use bollard::query_parameters::CreateImageOptionsBuilder;
use futures::StreamExt;

use super::{is_not_found, Engine};
use crate::error::unusable;

/// Check that `image` exists locally; if not, try to pull it.
pub async fn ensure_image(engine: &Engine, image: &str) -> Result<()> {
    match engine.docker().inspect_image(image).await {
        Ok(_) => return Ok(()),
        Err(e) if is_not_found(&e) => {}
        Err(e) => {
            return Err(unusable(format!("cannot inspect image {image}: {e}")));
        }
    }
    tracing::info!("image {image} is not here; trying to pull it");
    let (name, tag) = split_reference(image);
    let options = CreateImageOptionsBuilder::default()
        .from_image(name)
        .tag(tag)
        .build();
    let mut stream = engine.docker().create_image(Some(options), None, None);
    let mut failure = None;
    while let Some(item) = stream.next().await {
        match item {
            Ok(info) => {
                if let Some(detail) = info.error_detail.and_then(|d| d.message) {
                    failure = Some(detail);
                }
            }
            Err(e) => {
                failure = Some(e.to_string());
                break;
            }
        }
    }
    match failure {
        None if engine.docker().inspect_image(image).await.is_ok() => Ok(()),
        other => Err(unusable(format!(
            "image {image} is not available locally and pulling it failed: {}. \
             Build the offline MariaDB image with `make image` (it becomes worlds/mariadb:10.11), \
             or set `image:` in worlds.yaml to an image you have (`docker images`).",
            other.unwrap_or_else(|| "the engine reported no error but the image is missing".into())
        ))),
    }
}

/// `registry:5000/mysql:8.0` -> (`registry:5000/mysql`, `8.0`); no tag means `latest`.
fn split_reference(image: &str) -> (&str, &str) {
    if let Some((name, digest)) = image.split_once('@') {
        return (name, digest);
    }
    match image.rfind(':') {
        Some(i) if !image[i..].contains('/') => (&image[..i], &image[i + 1..]),
        _ => (image, "latest"),
    }
}

#[cfg(test)]
mod tests {
    use super::split_reference;

    #[test]
    fn references() {
        assert_eq!(split_reference("mysql:8.0"), ("mysql", "8.0"));
        assert_eq!(split_reference("mysql"), ("mysql", "latest"));
        assert_eq!(
            split_reference("registry:5000/mysql"),
            ("registry:5000/mysql", "latest")
        );
        assert_eq!(
            split_reference("registry:5000/mysql:5.7"),
            ("registry:5000/mysql", "5.7")
        );
    }
}
