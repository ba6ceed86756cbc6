"""Generated background for the replay corpus: the mostly-negative stream around incidents.

Programmatic variation is used here on purpose and only here: venting posts with no AI,
passing mentions of chatbots, human refusals (insurers, clinics, family), "stopped working"
about medication and outages, product-community chatter, AI-industry and health news.
None of it is an incident; hand-written incidents live in ``corpus/``. Phrase banks are
ours. A fixed seed makes the stream identical on every machine.
"""

from __future__ import annotations

import random
from datetime import datetime, timezone

from miner.replay.corpus import Article, Comment, Submission, id36, username

START = datetime(2023, 3, 1, tzinfo=timezone.utc).timestamp()
END = datetime(2025, 10, 31, tzinfo=timezone.utc).timestamp()

MH_SUBS = ["CPTSD", "mentalhealth", "depression", "anxiety", "bipolar", "BPD", "ptsd", "lonely", "socialanxiety"]
MH_WEIGHTS = [14, 22, 20, 18, 12, 4, 4, 4, 2]
PRODUCT_SUBS = ["ChatGPT", "OpenAI", "ClaudeAI", "CharacterAI", "replika", "Bard", "GeminiAI", "bing",
                "perplexity_ai", "singularity", "artificial", "ChatGPTPro", "LocalLLaMA"]
SUB_PRODUCT = {"ChatGPT": "ChatGPT", "OpenAI": "ChatGPT", "ChatGPTPro": "ChatGPT", "ClaudeAI": "Claude",
               "CharacterAI": "Character.AI", "replika": "Replika", "Bard": "Gemini", "GeminiAI": "Gemini",
               "bing": "Copilot", "perplexity_ai": "Perplexity", "singularity": "GPT-4", "artificial": "Claude",
               "LocalLLaMA": "Llama"}
PRODUCTS = ["ChatGPT", "ChatGPT", "ChatGPT", "Claude", "Gemini", "Copilot", "Perplexity", "GPT-4", "Grok",
            "Character.AI", "Replika", "Bard", "OpenAI"]

# -- mental-health posts without AI ---------------------------------------------------------
VENT_TITLES = [
    "{feeling} again and I don't know why", "Does it ever get easier?", "small win today",
    "{time} and I can't sleep", "how do you explain {condition} to your family?", "just need to get this out",
    "anyone else feel like this after {event}?", "I'm so tired of pretending", "first week of {treatment}",
    "is it normal to feel {feeling} after {event}?", "update: {treatment} month two", "can't stop overthinking",
    "what do you do when {trigger}?", "I made it through the holidays", "my brain won't shut up tonight",
    "rant about {event}", "finally told someone", "struggling with {trigger}", "good day for once",
    "advice on {treatment}?",
]
FEELINGS = ["numb", "exhausted", "on edge", "hollow", "restless", "guilty", "overwhelmed", "flat", "wired",
            "lonely", "ashamed", "panicky"]
TIMES = ["3am", "4:30am", "2am again", "Sunday night", "another night"]
CONDITIONS = ["depression", "complex trauma", "panic attacks", "bipolar II", "social anxiety", "dissociation",
              "burnout", "OCD", "health anxiety"]
EVENTS = ["a family visit", "a job interview", "a breakup", "my birthday", "a work review", "moving out",
          "a fight with my sister", "seeing my dad", "a long shift", "the anniversary", "exams", "a wedding"]
TREATMENTS = ["sertraline", "lamotrigine", "EMDR", "group therapy", "CBT", "DBT skills class", "lithium",
              "a new psychiatrist", "journaling", "a sleep schedule", "running", "an IOP program"]
TRIGGERS = ["the phone rings", "someone raises their voice", "I have to make a call", "I'm alone on weekends",
            "I see old photos", "I get a vague text", "plans get cancelled", "I have to go to the store"]
VENT_BODIES = [
    "I {did} today and it took everything I had. {reflection} {ask}",
    "Not sure what I'm looking for by posting. {reflection} I {did} and then just sat in the car for an hour. {ask}",
    "{reflection} My {person} keeps saying I just need to {advice}. {ask}",
    "Been on {treatment} for a few weeks. {reflection} {ask}",
    "Every time {trigger} my chest gets tight and I spiral. {reflection} {ask}",
    "I used to {hobby} every weekend. Now I can't even start. {reflection} {ask}",
    "Therapy tomorrow and I don't know what to say. {reflection} {ask}",
    "{reflection} I {did} and nobody noticed, which is somehow worse. {ask}",
]
DIDS = ["went grocery shopping", "answered my emails", "showered", "called my mom back", "went to work",
        "cooked an actual meal", "went for a short walk", "cleaned one corner of my room", "paid a bill"]
REFLECTIONS = [
    "It feels like I'm watching my life from behind glass.", "Some days are fine and then it hits out of nowhere.",
    "I know logically it's not that bad but my body doesn't believe it.", "I'm trying, I really am.",
    "Everyone else seems to handle this stuff so easily.", "I keep waiting for the other shoe to drop.",
    "It's like the volume on everything is turned down.", "I don't want to be a burden to anyone.",
    "The mornings are the worst part.", "I'm proud of myself and also embarrassed that this counts as a win.",
]
ASKS = ["Does anyone else get this?", "How do you cope?", "Any advice appreciated.", "Thanks for reading.",
        "Not looking for advice, just needed to say it.", "Is this normal?", "What helped you?", ""]
PEOPLE = ["mom", "dad", "partner", "roommate", "best friend", "brother", "boss", "aunt"]
ADVICES = ["get out more", "stop thinking about it", "pray", "try yoga", "get over it", "go to the gym"]
HOBBIES = ["paint", "play guitar", "go hiking", "bake", "read", "play football", "garden", "draw"]

# -- mental-health posts that mention AI in passing -----------------------------------------
AI_PASSING = [
    ("Used {product} to plan my week and it actually helped",
     "I asked {product} to break my week into tiny steps because executive dysfunction is kicking my butt. "
     "It made a list with {n} things a day. {reflection} Anyone else use tools like this?"),
    ("{product} helped me write an email to my professor",
     "I'd been avoiding it for two weeks. Had {product} draft something polite asking for an extension, edited it, "
     "sent it. Professor said yes. {reflection}"),
    ("Journaling prompts?", "I've been using {product} to give me journaling prompts in the evening. {reflection} "
     "Does anyone have favourite prompts that aren't from a chatbot?"),
    ("Meal planning when depressed", "Low energy recipes thread? I asked {product} for five-minute meals and half of "
     "them needed an oven I don't have lol. {ask}"),
    ("Weird question about {product}", "Is it weird that I practice small talk with {product} before parties? "
     "My social anxiety makes me freeze. It's been kind of useful actually. {ask}"),
    ("Explained my diagnosis to my dad using {product}", "I had {product} help me find simple words for what "
     "{condition} is like so I could explain it to my dad. He listened. {reflection}"),
    ("study tips with anxiety", "Exams in two weeks. I use {product} to quiz me on flashcards because reading makes "
     "my anxiety worse. {ask}"),
]

# -- human refusals without any AI ------------------------------------------------------------
HUMAN_REFUSAL = [
    ("Insurance denied my therapy claim again", "Third time they denied it. They say the sessions weren't "
     "'medically necessary'. {reflection} Has anyone won an appeal?"),
    ("Psychiatrist refused to increase my dose", "I told her the {treatment} isn't doing much and she refused to "
     "change anything until next month. {reflection} {ask}"),
    ("Got rejected from the IOP program", "They said my symptoms were 'too severe' for outpatient and 'not severe "
     "enough' for inpatient. Where am I supposed to go? {ask}"),
    ("My GP denied my referral", "Waited six weeks for the appointment and my GP denied the referral to a "
     "specialist. {reflection}"),
    ("Job application rejected, spiralling", "Another rejection email this morning. That's {n} this month. "
     "{reflection} {ask}"),
    ("Family keeps denying what happened", "Every holiday they deny it happened and I end up doubting my own memory. "
     "{reflection} {ask}"),
    ("Work refused my accommodation request", "I asked for a quieter desk because of panic attacks and HR refused. "
     "{reflection} {ask}"),
    ("Disability claim rejected", "My disability claim for {condition} was rejected, they want more paperwork. "
     "{reflection}"),
    ("Landlord refused to fix the heating", "Not strictly mental health but it is affecting my mental health. Cold "
     "flat, landlord refused twice. {reflection}"),
    ("My meds stopped working?", "Been on {treatment} for two years and the last month it feels like it stopped "
     "working. {reflection} Did anyone have this and what did your doctor do?"),
    ("Coping skills stopped working", "Breathing exercises used to help and now they don't do anything. "
     "{reflection} {ask}"),
]

# -- look-alikes: a product word and a refusal word, no AI refusal -----------------------------
COLLISIONS = [
    ("Insurance denied my claim so I had {product} help with the appeal letter",
     "The insurer denied coverage for my intensive outpatient program. I had {product} help me structure the appeal "
     "and then my therapist checked it. Fingers crossed. {ask}"),
    ("Meds stopped working and I'm scared", "My {treatment} stopped working after {n} months. I looked up what it "
     "might mean on {product} and then actually called my psychiatrist like a grown up. Appointment Thursday."),
    ("Boss rejected my leave request", "Manager rejected my mental health day even though I had the days. I work with "
     "{product} all day (dev job) and honestly the codebase is the least of my stress. {reflection}"),
    ("The {sign} in me refuses to rest", "Joke title but real question: how do you rest when your brain refuses to? "
     "I asked {product} for a wind-down routine and it was fine I guess. {ask}"),
    ("My ex denied everything", "I have screenshots and he still denies it. I even pasted the messages into {product} "
     "to check I wasn't crazy for reading them that way. {reflection}"),
    ("Therapist refused to see me after I missed two sessions", "She has a two strikes policy. I get it but I missed "
     "them because I was depressed. {product} suggested I write her a letter, which I did, no reply. {ask}"),
    ("My laptop stopped working mid-breakdown", "Perfect timing. Laptop died, lost my notes, couldn't even open "
     "{product} to finish my cover letter. {reflection} Today was a lot."),
    ("Rejected by the crisis line waitlist?", "Called the warmline and they said they were full and to call back. "
     "Ended up just typing my thoughts into {product} notes app style. {ask}"),
]
SIGNS = ["Gemini", "Gemini", "Scorpio", "Capricorn"]

# -- product communities ---------------------------------------------------------------------
COMMUNITY = [
    ("{product} stopped working for anyone else?", "Getting 'something went wrong' on every message since this "
     "morning. Status page says all systems operational. {ask}"),
    ("{product} refused to write my villain's monologue", "Writing a fantasy novel and it refuses to write a threat "
     "from the villain because it's 'harmful'. It's a dragon. {ask}"),
    ("Why does {product} refuse to answer simple chemistry questions?", "Asked about which cleaning products "
     "shouldn't be mixed (for safety!) and got a refusal. Then it answered when I rephrased. Inconsistent much?"),
    ("{product} rejected my code review prompt", "It said the file was too long. Anyone know the actual context "
     "limit right now?"),
    ("Comparison: {product} vs the others for coding", "Spent a week using each for a Django project. {product} was "
     "best at refactors, worst at tests. Full notes below.\n\n1. refactors\n2. tests\n3. docs"),
    ("New guardrails are too much", "I asked for a summary of a historical battle for a school project and it added "
     "three paragraphs of disclaimers. The guardrails are getting silly. {ask}"),
    ("{product} denied my image request", "Wanted a picture of my dog as a knight and it said it can't make images "
     "of real animals?? Then it did it on the second try."),
    ("Tip: custom instructions that cut the fluff", "Put 'no preamble, no summaries at the end' in custom "
     "instructions. {product} got way less chatty. What are yours?"),
    ("Is {product} getting worse or is it me", "Answers feel shorter and lazier this month. Anyone benchmarked it?"),
    ("{product} refused to help with my tax question", "It said it can't give financial advice. I literally asked "
     "what a W-2 is."),
    ("Voice mode stopped working after update", "App update broke voice mode for me on Android. Reinstalled, same. "
     "{ask}"),
    ("Jailbreak prompts are dead?", "None of the old jailbreaks work anymore. Not that I need them, just curious "
     "how people test the guardrails now."),
]
COMMUNITY_PRODUCT_FREE = [
    ("Memory feature is great", "It remembered my cat's name from last month. Small thing but nice."),
    ("What's your most used prompt?", "Mine is 'explain like I'm tired'. Works wonders."),
    ("Usage limits this week?", "Hit the cap after 20 messages on a Tuesday. Is that new?"),
]

# -- comments ------------------------------------------------------------------------------------
MH_COMMENTS = [
    "Sending you a hug if you want one.", "I feel this so much. You're not alone.",
    "Proud of you for getting through today.", "Have you been able to talk to your doctor about this?",
    "Same here. Mornings are brutal.", "It does get easier, slowly and unevenly, but it does.",
    "Thank you for posting this, I needed to read it today.", "That sounds exhausting. Be gentle with yourself.",
    "I started with five minute walks. Sounds dumb but it helped a bit.", "Drink some water and eat something if you can.",
    "Appeals work more often than people think. Keep every letter.", "My therapist says progress isn't linear and I hate that she's right.",
    "If you need to talk, the people here are kind.", "Honestly this sub got me through last winter.",
    "Could it be worth asking for a second opinion?", "Ugh, I'm sorry. That's so unfair.",
    "Do you have anyone you can stay with this weekend?", "I relate to the watching-from-behind-glass thing.",
    "Small wins are still wins.", "Writing it down helps me too, even if nobody reads it.",
]
COMMUNITY_COMMENTS = [
    "Works for me, try clearing cache.", "Same here, started around noon.", "Just rephrase it, works every time.",
    "Skill issue lol", "They nerfed it again.", "Use the API, fewer restrictions.", "This sub complains about everything.",
    "Have you tried the other model? It's better for this.", "Report it with the thumbs down, they do read those.",
    "Status page is always the last to know.", "Mine did the same, then fixed itself an hour later.",
    "The disclaimers are annoying but I get why they exist.", "Can confirm, voice mode broken on Pixel too.",
    "Post the full prompt?", "It's a language model, not a person.", "Local models don't do this.",
]
COMMUNITY_TAILS = [
    "Using the {plan} plan on {device}.", "This is the {n}th time this week.", "Happened on {device} and on web.",
    "Not a big deal, just curious.", "Anyone from the team reading this?", "Screenshot in comments.",
    "Before anyone asks: yes I searched first.", "Been a subscriber for {n} months.", "{ask}", "Thoughts?",
    "Edit: typo.", "Same prompt worked fine last {weekday}.", "Mildly annoying tbh.", "Genuinely asking, not ranting.",
]
PLANS = ["free", "Plus", "Pro", "team", "student"]
DEVICES = ["iPhone", "Android", "the desktop app", "Firefox", "my work laptop", "an old iPad", "Chrome on Linux"]
REPOST_EDITS = [("", "\n\nEDIT: reposting because the first one got no replies."), ("", " (repost)"),
                ("", "\n\nSorry for posting twice.")]

# -- news ---------------------------------------------------------------------------------------
OUTLETS = [("Meridian Wire", "meridian-wire", "meridianwire.example"), ("The Lakeside Ledger", None, "lakesideledger.example"),
           ("TechCurrent", "techcurrent", "techcurrent.example"), ("Health Signal", None, "healthsignal.example"),
           ("The Daily Anchor", None, "dailyanchor.example"), ("Circuit Review", None, "circuitreview.example"),
           ("Northgate Times", "northgate-times", "northgatetimes.example"), ("Pulse Medical News", None, "pulsemed.example")]
NEWS = [
    ("{company} unveils new {model} with longer memory", "{company} announced {model} on {weekday}, promising faster "
     "answers and a longer context window.",
     "{company} announced {model} on {weekday}. The company said the model handles longer documents and costs less "
     "to run. Analysts expect competition to intensify as rivals prepare their own releases. The launch comes "
     "amid scrutiny of AI safety practices across the industry, and the company said it had expanded its testing."),
    ("Mental health apps face new rules in {region}", "Regulators in {region} proposed rules for mental health apps "
     "that use AI, including requirements to refer users in crisis to human services.",
     "Regulators in {region} published draft rules for mental health apps on {weekday}. Apps that use AI chatbots "
     "would need safety guardrails, crisis referral pathways and clear labelling. Industry groups said the rules "
     "were workable; patient advocates said they did not go far enough. A consultation runs for twelve weeks."),
    ("Startup's AI therapy app rejected by {agency}", "{agency} rejected an application from a mental health AI "
     "startup seeking clearance for its chatbot.",
     "{agency} rejected the startup's application, citing insufficient evidence from clinical trials. The company, "
     "which sells an AI chatbot for mental health support, said it would resubmit. Experts said the decision shows "
     "regulators want randomized evidence before AI tools are marketed as treatment."),
    ("Waiting lists for therapy hit record in {region}", "Patients in {region} now wait months for talking "
     "therapy, new figures show.",
     "New figures show patients in {region} wait an average of {n} weeks for talking therapy. Charities warned "
     "that people are being denied timely care and turning to apps and online forums instead. Officials said "
     "funding for additional therapists had been approved."),
    ("Insurers' use of algorithms to deny claims under scrutiny", "Lawmakers question insurers that use AI to "
     "review and deny mental health claims.",
     "Lawmakers in {region} questioned insurers about automated systems used to review claims. Advocates say AI "
     "review tools have denied mental health treatment at higher rates than human reviewers. Insurers said humans "
     "make final decisions. A hearing is scheduled next month."),
    ("{company} shares rise after strong quarter", "{company} reported higher revenue driven by AI products.",
     "{company} reported quarterly revenue above expectations, driven by demand for AI services. The company "
     "said it would keep investing in data centres. Shares rose in after-hours trading."),
    ("Schools weigh AI chatbots for student wellbeing", "Districts in {region} are testing AI chatbots to support "
     "student wellbeing, with safety guardrails.",
     "Several school districts in {region} are piloting AI chatbots that answer students' questions about stress "
     "and sleep. Officials said the tools include safety guardrails and escalate to counsellors. Some parents "
     "raised privacy concerns; the districts said conversations are not stored beyond thirty days."),
    ("Study: chatbots vary widely in crisis responses", "Researchers tested popular chatbots with crisis "
     "scenarios and found inconsistent referrals.",
     "A study by researchers at a {region} university tested popular AI chatbots with messages describing mental "
     "health crises. Some consistently refused to continue and gave hotline numbers, others responded with general "
     "advice. The authors called for shared standards and said blanket refusals can leave users feeling dismissed."),
]
COMPANIES = ["Arclight AI", "Nimbus Labs", "Fathom Systems", "Brightwell", "Lattice Intelligence", "Kestrel AI"]
MODELS = ["Aria 3", "Nimbus-2", "Fathom Pro", "Lumen 5", "Kestrel Mini"]
REGIONS = ["the EU", "California", "Ontario", "Victoria", "New York", "Scotland", "Washington state", "Texas"]
AGENCIES = ["the FDA", "the state health board", "the national regulator", "the medical devices agency"]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]


def _fill(rng: random.Random, template: str, **fixed: str) -> str:
    slots = {
        "feeling": rng.choice(FEELINGS), "time": rng.choice(TIMES), "condition": rng.choice(CONDITIONS),
        "event": rng.choice(EVENTS), "treatment": rng.choice(TREATMENTS), "trigger": rng.choice(TRIGGERS),
        "did": rng.choice(DIDS), "reflection": rng.choice(REFLECTIONS), "ask": rng.choice(ASKS),
        "person": rng.choice(PEOPLE), "advice": rng.choice(ADVICES), "hobby": rng.choice(HOBBIES),
        "product": rng.choice(PRODUCTS), "n": str(rng.randint(2, 14)), "sign": rng.choice(SIGNS),
        "company": rng.choice(COMPANIES), "model": rng.choice(MODELS), "region": rng.choice(REGIONS),
        "agency": rng.choice(AGENCIES), "weekday": rng.choice(WEEKDAYS), "plan": rng.choice(PLANS),
        "device": rng.choice(DEVICES),
    }
    slots.update(fixed)
    return template.format(**slots).strip()


OPENERS = ["", "Throwaway because people I know use this sub.", "Long time lurker.", "Sorry for formatting, on mobile.",
           "Not sure this is the right sub.", "Okay so.", "This might be dumb but", "First post here.",
           "Update from my last post.", "Posting at {time} because I can't sleep.", "TW: nothing graphic, just sad.",
           "Mods, remove if not allowed."]


def _submission(rng: random.Random, key: str, sub: str, title: str, body: str, comment_bank: list[str],
                max_comments: int) -> Submission:
    opener = _fill(rng, rng.choice(OPENERS))
    body = f"{opener} {body}".strip() if opener and not key.startswith("gen-repost") else body
    created = float(int(rng.uniform(START, END)))
    author = username(key)
    s = Submission(key=key, id36=id36(key, "t3"), subreddit=sub, title=title, selftext=body, url="",
                   author=author, created_utc=created, score=rng.randint(1, 400),
                   upvote_ratio=round(rng.uniform(0.6, 1.0), 2), subscribers=rng.randint(150_000, 9_000_000),
                   generated=True)
    t = created
    for i in range(rng.randint(0, max_comments)):
        ckey = f"{key}-c{i}"
        t += rng.randint(120, 20_000)
        parent = s.comments[-1] if s.comments and rng.random() < 0.25 else None
        s.comments.append(Comment(
            key=ckey, id36=id36(ckey, "t1"), submission_key=key,
            parent_fullname=f"t1_{parent.id36}" if parent else f"t3_{s.id36}",
            body=rng.choice(comment_bank), author=author if parent and rng.random() < 0.5 else username(ckey),
            created_utc=t, score=rng.randint(-2, 80), depth=parent.depth + 1 if parent else 0))
    return s


def generate(seed: int) -> tuple[list[Submission], list[Article]]:
    rng = random.Random(seed)
    subs: list[Submission] = []

    def mh_sub() -> str:
        return rng.choices(MH_SUBS, MH_WEIGHTS)[0]

    for i in range(150):
        subs.append(_submission(rng, f"gen-vent-{i:03d}", mh_sub(), _fill(rng, rng.choice(VENT_TITLES)),
                                _fill(rng, rng.choice(VENT_BODIES)), MH_COMMENTS, 5))
    for i in range(60):
        title, body = rng.choice(AI_PASSING)
        product = rng.choice(PRODUCTS)
        subs.append(_submission(rng, f"gen-aipass-{i:03d}", mh_sub(), _fill(rng, title, product=product),
                                _fill(rng, body, product=product), MH_COMMENTS, 4))
    for i in range(70):
        title, body = rng.choice(HUMAN_REFUSAL)
        subs.append(_submission(rng, f"gen-human-{i:03d}", mh_sub(), _fill(rng, title), _fill(rng, body),
                                MH_COMMENTS, 5))
    for i in range(55):
        title, body = rng.choice(COLLISIONS)
        product = rng.choice(PRODUCTS)
        subs.append(_submission(rng, f"gen-collide-{i:03d}", mh_sub(), _fill(rng, title, product=product),
                                _fill(rng, body, product=product), MH_COMMENTS, 4))
    for i in range(130):
        sub = rng.choice(PRODUCT_SUBS)
        bank = COMMUNITY if rng.random() < 0.85 else COMMUNITY_PRODUCT_FREE
        title, body = rng.choice(bank)
        product = SUB_PRODUCT[sub]
        body = _fill(rng, body, product=product) + " " + _fill(rng, rng.choice(COMMUNITY_TAILS))
        subs.append(_submission(rng, f"gen-comm-{i:03d}", sub, _fill(rng, title, product=product),
                                body.strip(), COMMUNITY_COMMENTS, 6))
    # Near-duplicate reposts: same author, same text with a small edit, days later.
    for i, orig in enumerate(rng.sample(subs, 16)):
        prefix, suffix = rng.choice(REPOST_EDITS)
        key = f"gen-repost-{i:03d}"
        s = _submission(rng, key, orig.subreddit if rng.random() < 0.6 else rng.choice(MH_SUBS), orig.title,
                        prefix + orig.selftext + suffix, MH_COMMENTS, 2)
        s.author = orig.author
        s.repost_of = orig.key
        s.created_utc = orig.created_utc + rng.randint(2, 9) * 86_400
        subs.append(s)

    articles: list[Article] = []
    for i in range(110):
        title, desc, body = rng.choice(NEWS)
        outlet, outlet_id, domain = rng.choice(OUTLETS)
        key = f"gen-news-{i:03d}"
        fixed = {k: rng.choice(v) for k, v in (("company", COMPANIES), ("model", MODELS), ("region", REGIONS),
                                                ("agency", AGENCIES), ("weekday", WEEKDAYS))}
        t = _fill(rng, title, **fixed)
        published = float(int(rng.uniform(START, END)))
        day = datetime.fromtimestamp(published, tz=timezone.utc).strftime("%Y/%m/%d")
        slug = "-".join(t.lower().replace("'", "").split()[:7])
        articles.append(Article(key=key, outlet=outlet, outlet_id=outlet_id, byline=rng.choice(["", "Staff"]),
                                published_utc=published, url=f"https://{domain}/{day}/{slug}-{i}",
                                title=t, description=_fill(rng, desc, **fixed), body=_fill(rng, body, **fixed),
                                generated=True))
    return subs, articles
