//! Pages driven in headless Chromium, as a subscriber uses them: a small WebDriver client over
//! HTTP to `chromedriver` (Debian's `chromium` and `chromium-driver`). A test that starts one is
//! marked `needs! { chromium … }`: without them it is listed as ignored, with `CI` set it fails.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

/// A Chromium session: the driver process, its address and the session's id. The browser and
/// its profile folder go when it is dropped.
pub struct Browser {
    driver: Child,
    base: String,
    session: String,
    http: reqwest::Client,
    _profile: tempfile::TempDir,
}

const W3C_ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

impl Browser {
    /// A headless Chromium of `width` × `height`; a missing Chromium fails the test (`needs!`).
    pub async fn start(width: u32, height: u32) -> Option<Browser> {
        let (chromium, driver) = ("/usr/bin/chromium", "/usr/bin/chromedriver");
        if !std::path::Path::new(chromium).exists() || !std::path::Path::new(driver).exists() {
            crate::common::missing("Chromium (apt-get install chromium chromium-driver)");
        }
        let port = crate::common::free_port();
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver");
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let mut ready = false;
        for _ in 0..100 {
            if let Ok(r) = http.get(format!("{base}/status")).send().await {
                if r.status().is_success() {
                    ready = true;
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(ready, "chromedriver did not start");
        let profile = tempfile::tempdir().unwrap();
        let args = [
            "--headless".to_string(),
            "--no-sandbox".to_string(),
            "--disable-gpu".to_string(),
            "--disable-background-networking".to_string(),
            "--disable-component-update".to_string(),
            "--disable-sync".to_string(),
            "--no-first-run".to_string(),
            format!("--user-data-dir={}", profile.path().display()),
            format!("--window-size={width},{height}"),
        ];
        // Headless Chromium keeps a window at least 500 px wide, whatever `--window-size` says:
        // the page is laid out at exactly `width` × `height` through device metrics instead.
        // (Not "mobile": that would lay out a page without a viewport tag 980 px wide.)
        let metrics = json!({"width": width, "height": height, "pixelRatio": 1.0,
                             "mobile": false, "touch": width < 800});
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": chromium, "args": args,
                                   "mobileEmulation": {"deviceMetrics": metrics}}
        }}});
        let answer: Value = http
            .post(format!("{base}/session"))
            .json(&caps)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let session = answer["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {answer}"))
            .to_string();
        let browser = Browser {
            driver: child,
            base,
            session,
            http,
            _profile: profile,
        };
        let size = browser
            .script("return [window.innerWidth, window.innerHeight];")
            .await;
        assert_eq!(size, json!([width, height]), "the window's size");
        Some(browser)
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let r = self
            .http
            .request(method, url)
            .json(&body)
            .send()
            .await
            .unwrap();
        let v: Value = r.json().await.unwrap();
        assert!(v["value"]["error"].is_null(), "WebDriver {path}: {v}");
        v["value"].clone()
    }

    pub async fn go(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", json!({ "url": url }))
            .await;
    }

    pub async fn url(&self) -> String {
        let v = self.call(reqwest::Method::GET, "/url", json!({})).await;
        v.as_str().unwrap().to_string()
    }

    /// The elements matching a CSS selector (their WebDriver ids).
    pub async fn all(&self, css: &str) -> Vec<String> {
        let v = self
            .call(
                reqwest::Method::POST,
                "/elements",
                json!({"using": "css selector", "value": css}),
            )
            .await;
        v.as_array()
            .unwrap()
            .iter()
            .map(|e| e[W3C_ELEMENT].as_str().unwrap().to_string())
            .collect()
    }

    /// The first element matching `css`, waiting up to 5 s for it to appear.
    pub async fn find(&self, css: &str) -> String {
        for _ in 0..50 {
            if let Some(e) = self.all(css).await.into_iter().next() {
                return e;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no element {css} on {}", self.url().await)
    }

    pub async fn type_into(&self, element: &str, text: &str) {
        self.call(
            reqwest::Method::POST,
            &format!("/element/{element}/value"),
            json!({ "text": text }),
        )
        .await;
    }

    pub async fn clear(&self, element: &str) {
        self.call(
            reqwest::Method::POST,
            &format!("/element/{element}/clear"),
            json!({}),
        )
        .await;
    }

    pub async fn click(&self, element: &str) {
        self.call(
            reqwest::Method::POST,
            &format!("/element/{element}/click"),
            json!({}),
        )
        .await;
    }

    pub async fn attribute(&self, element: &str, name: &str) -> String {
        let v = self
            .call(
                reqwest::Method::GET,
                &format!("/element/{element}/attribute/{name}"),
                json!({}),
            )
            .await;
        v.as_str().unwrap_or("").to_string()
    }

    pub async fn text(&self, element: &str) -> String {
        let v = self
            .call(
                reqwest::Method::GET,
                &format!("/element/{element}/text"),
                json!({}),
            )
            .await;
        v.as_str().unwrap_or("").to_string()
    }

    /// Waits up to 10 s for the address to contain `part`.
    pub async fn wait_for_url(&self, part: &str) -> String {
        for _ in 0..100 {
            let url = self.url().await;
            if url.contains(part) {
                return url;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("never reached {part}; at {}", self.url().await)
    }

    /// True when the page is no wider than the window (nothing to scroll sideways).
    pub async fn fits_sideways(&self) -> bool {
        let v = self
            .call(
                reqwest::Method::POST,
                "/execute/sync",
                json!({
                    "script": "return document.documentElement.scrollWidth <= window.innerWidth;",
                    "args": []
                }),
            )
            .await;
        v.as_bool().unwrap()
    }

    /// Runs `script` (a function body that `return`s) in the page and gives its value.
    pub async fn script(&self, script: &str) -> Value {
        self.call(
            reqwest::Method::POST,
            "/execute/sync",
            json!({ "script": script, "args": [] }),
        )
        .await
    }

    /// Logs in through the login form.
    pub async fn log_in(&self, base: &str, user: &str, password: &str) {
        self.go(&format!("{base}/callc/login")).await;
        let u = self.find("input[name=username]").await;
        self.type_into(&u, user).await;
        let p = self.find("input[name=password]").await;
        self.type_into(&p, password).await;
        let b = self.find("form button[type=submit]").await;
        self.click(&b).await;
        self.wait_for_url("/callc/main").await;
    }
}

impl Browser {
    /// Saves the window as a PNG in `$SELFCARE_SCREENSHOTS/NAME.png` when that variable names a
    /// folder (for a person to look at the pages a test went through); else does nothing.
    pub async fn screenshot(&self, name: &str) {
        use base64::Engine;
        let Some(dir) = std::env::var_os("SELFCARE_SCREENSHOTS") else {
            return;
        };
        let v = self
            .call(reqwest::Method::GET, "/screenshot", json!({}))
            .await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap())
            .unwrap();
        let dir = std::path::PathBuf::from(dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }

    /// Ends the browser (a test that panics leaves it to `Drop`, which ends the driver).
    pub async fn quit(self) {
        let url = format!("{}/session/{}", self.base, self.session);
        let _ = self.http.delete(url).send().await;
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
