"""The support vocabulary of a classifieds marketplace in Uzbek, Russian and English, by concept.

A word people use for a thing becomes the thing's concept, so a question in any language or
script meets a knowledge-base phrasing in any other: "rasm", "фото", "kartinka" and "pictures"
are all PHOTO. Written in natural spelling and reduced by normalize.canonical at import, so the
Cyrillic and Latin forms of one word need only be written once. A line "-:" lists framing phrases
that carry no topic ("the bot says", "xabar keldi": a message came saying…). A trailing * matches
any ending (the longest pattern wins, so "sotil*" SOLD beats "sot*" SELL); words separated by
spaces are a phrase. "en:check*" applies only to text in that language (Russian "чек" is a
receipt, and transliterated it is spelled like "check"). This describes the domain, not a test
set: add words people use, never whole questions.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

CONCEPTS = """
AD: e'lon*, elon*, объяв*, обьяв*, obyav*, obiav*, objav*, ad, ads, advert*, listing*, обява*
POST: post, posts, posti, postim, postni, postda, postga, postlar*, posta, poste, postu, postom, posty,
    postov, posted, posting, пост, поста, посте, посту, постом, посты, постов
CHANNEL: kanal*, канал*, channel*, chanel*, guruh*, group*, групп*, gruppa*
BOT: bot, bota, botu, botom, bote, boti, botni, botda, botga, botdan, botim*, boting*, botlar*, bots,
    бот, бота, боту, ботом, боте, боты
PHOTO: rasm*, surat*, foto*, фото*, photo*, picture*, pic, pics, image*, img, картин*, kartin*, снимк*,
    снимок, snimk*, snimok, изображ*, izobraj*, fotk*
VIDEO: video*, видео*, rolik*, ролик*
FILE: fayl*, файл*, file*, hujjat*, документ*, dokument*, document*, doc
SCREENSHOT: skrin*, скрин*, screenshot*, screen*
ALBUM: albom*, альбом*, album*
ADD: yubor*, юбор*, отправ*, otprav*, скину*, skinu*, send, sending, sent, zagruj*, загруж*, qo'sh*,
    qosh*, добав*, dobav*, add, adding, added, attach*, прикреп*, prikrep*, zagruz*, загруз*, upload*,
    yukla*, yuborish, tashla*
HOWMANY: nechta, necha, nechtagacha, сколько, skolko, skoka, "how many", "how much", qancha
LIMIT: "limit tugad*", limit*, лимит*, cheklov*, cheklan*, ограничен*, ogranichen*, max, maks*, макс*,
    maximum*, "ko'pi bilan", "eng ko'p"
DAY: kun, kuni, kunda, kunga, kunlik*, kunlar*, kundan, день, дня, дней, днём, den, dnia, dnei, day,
    days, daily, сутк*, sutk*, bugun*, сегодня, segodnia, today
TIME: vaqt*, время, vremia, time
WAIT: kut*, ждать, жду, ждём, ждем, ожида*, jdat, jdu, jdem, ojida*, wait*, "how long", "qancha vaqt",
    "сколько времени", длится, dlitsia, затягива*
WHEN: nechada, qachon*, когда, kogda, when, qachongacha
NEW: yangi*, новое, новый, новая, новые, новое, novoe, novii, novaia, novie, new, create*, sozda*,
    созда*
PLACE: joyla*, размест*, размещ*, razmest*, razmesh*, выстав*, vistav*, выклад*, выложи*, viloji*,
    подать, подам, подаю, подач*, podat, podam, podaiu, podach*, place, placing
AD+PLACE: "e'lon ber*", "elon ber*", "e'lonni ber*", "e'lon qo'y*", "elon qoy*", "e'lonni qo'y*",
    "e'lon chiqar*", "e'lon tashla*", "elon tashla*", "e'lon joyla*"
PUBLISH: опублик*, публик*, opublik*, publik*, publish*
SELL: sotuvda*, sot*, sotish*, sotuv*, продать, продам, продаю, продаж*, продаёт*, продает*, продава*,
    продаём, prodat, prodam, prodaiu, prodaj*, prodaet*, prodaiot*, sell, sells, selling, "for sale"
SOLD: sotil*, sotdi*, sotvor*, sotgan*, "sotib yubor*", продан*, продал*, prodal*, prodan*, sold,
    "found a buyer", "got a buyer", "xaridor topil*", "покупатель нашел*", "покупатель нашёл*"
SELLER: "person selling", "person who sells", "who is selling", "who sells", "the one selling",
    "кто продаёт", "кто продает", "kto prodaet", "который продаёт", "который продает",
    "kotorii prodaet", "sotayotgan odam*", "sotgan odam*", sotuvchi*, продавец, продавц*, prodavec,
    prodavc*, seller*, owner*, egasi*, egasiga, владел*, vladel*
BUYER: xaridor*, харидор*, покупател*, pokupatel*, buyer*, klient*, mijoz*, customer*
BUY: "sotib ol*", купить, куплю, купил*, покупк*, покупа*, kupit, kupliu, kupil*, pokupk*, pokupa*, buy,
    buying, bought, purchas*, xarid, харид
ONSALE: "hali sotuvda*", "hali sotuvdami", sotuvdaligini, sotuvdaligi, "sotuvda ekanini",
    "sotuvdaligini tasdiq*", "hali sotuv*", "ещё прода*", "еще прода*", "eshe proda*", "esho proda*",
    "still sell*", "still availab*", "still for sale", "ещё актуал*", "еще актуал*", aktual*, актуал*
WRITE: napisal*, написал*, typed, typing, yoz*, написать, напишу, напиши*, пишу, писать, пишет, napisat,
    napishu, napishi*, pishu, pisat, write, writing, wrote
CONTACT: contact*, kontakt*, контакт*, bog'lan*, боғлан*, связаться, свяжусь, связь, sviazacia,
    sviazatsia, sviaz, reach*, murojaat*, обращени*, obrashen*
LINK: ula, ulash*, ulay*, ulab, ulang*, ulan*, ulasam, uladim, bog'la*, боғла*, привяз*, привяж*,
    privyaz*, priviaz*, privyaj*, priviaj*, связать, свяжу, sviazat, отвяз*, otviaz*, otvyaz*, соедин*,
    soedin*, connect*, tied, tie, unlink*
URL: havola*, ҳавола*, ссылк*, ssilk*, ssylk*, url
LINK+URL: link*
ACCOUNT: akkaunt*, akaunt*, аккаунт*, акаунт*, account*, profil*, профил*, profile*, учетн*, учётн*,
    uchetn*, kabinet*, кабинет*
WEB: sayt*, сайт*, site*, website*, veb*, веб*, web*, brauzer*, browser*
CHAT: chat*, чат*
LOGIN: login*, логин*, kirish*, kiraman, kira, kirolm*, kirdim, kirsam, kirib, войти, вхожу, вход,
    зайти, захожу, залогин*, voiti, vhod*, zaiti, zahoj*, zalogin*, "log in", "sign in", logging
REGISTER: "ro'yxatdan o't*", "royxatdan ot*", "рўйхатдан ўт*", регистр*, зарегистр*, registr*,
    zaregistr*, register*, registration, "sign up", signup
PASSWORD: parol*, пароль*, password*
NOTIFY: bildirishnoma*, ogohlantir*, уведомл*, uvedoml*, оповещ*, opovesh*, notif*, alert*
MESSAGE: xabar*, хабар*, сообщ*, soobsh*, message*, messages, smska*
ARRIVE: tushadi, tushdi, tushmadi, tushmayapti, tushmagan, tushgan, tushyapti, tushmay*, начисл*,
    nachisl*, зачисл*, zachisl*, пришл*, приход*, придут, придёт, prishl*, prihod*, pridut, pridet,
    credit*, arriv*, receiv*
TASK: vazifa*, вазифа*, задани*, zadani*, задач*, task*
POINTS: ball*, bal, bali, balim*, balni, balga, balar*, балл*, point*, очк*, ochk*, bonus*, бонус*
POINTS+EARN: "ball ishla*", "bal ishla*", "ballar ishla*"
EARN: заработ*, zarabot*, earn*, "pul ishla*", mukofot*, награ*, nagrad*, reward*
SUBSCRIBERS: obunachi*, обуначи*, подписчик*, podpischik*, subscribers, followers
SUBSCRIBE: obuna*, обуна*, подпис*, podpis*, subscrib*, follow*, join*, вступ*
UNSUBSCRIBE: отпис*, otpis*, unsubscrib*, left, leave, leaving, "obunadan chiq*", "kanaldan chiq*",
    "chiqib ket*", "вышел из канала", "vishel iz kanala"
DEDUCT: zaber*, заберу*, ayir*, kamay*, списа*, списыва*, spisa*, spisiva*, deduct*, "taken back",
    taken, "went down", decreas*, drop, dropped, dropping, "qaytib ol*", забрал*, забира*, zabral*,
    zabira*, пропал*, propal*, "ball kam*", минус*
BALANCE: balans*, баланс*, balance*
CARD+WITHDRAW: "kartaga chiqar*", "kartaga o'tkaz*", "kartaga yech*"
MONEY+WITHDRAW: "pulga chiqar*", "pulga yech*"
WITHDRAW: "chiqarib ol*", "yechib ol*", yech*, ечиб*, вывест*, вывод*, вывед*, вывожу, vivest*, vivod*,
    vived*, vivoju, "cash out", cashout, withdraw*, обнал*, obnal*
CARD: karta*, kart, kartam*, kartaga, карт*, card*, uzcard*, humo*, хумо*, visa
MONEY: pul, puli, pulim*, pulni, pulga, pullar*, pulini, деньг*, денег, dengi*, deneg, money, cash,
    naqd*, налич*, nalich*
EXCHANGE: обмен*, obmen*, exchange*, convert*, konvert*, "pulga aylantir*", aylantir*, айлантир*
PAY: to'la*, to'lo*, tola*, tolo*, тўла*, оплат*, oplat*, платить, плачу, платн*, platit*, plachu,
    platn*, zaplat*, заплат*, pullik*, пуллик*, pay, pays, paying, paid, payment*, cost*, costs, стоит*,
    стоимост*, stoit, stoimost*, fee, fees, charge*, komissi*, комисси*, "necha pul", nechpul,
    "qancha turadi", "narxi qancha", "сколько стоит"
FREE: bepul*, бепул*, tekin*, текин*, бесплатн*, besplatn*, free, "pulsiz", "без оплаты"
PREPAY: oldindan*, олдиндан*, предоплат*, predoplat*, prepay*, deposit*, avans*, аванс*, zadatok,
    задаток, залог*
CURRENCY: dollar*, доллар*, usd, valyut*, valiut*, валют*, currency, so'm, som, sum, сум, сўм, у.е, uzs
PRICE: narx*, нарх*, цен*, cen*, tsen*, price*, pricing, prise*
FORMAT: format*, формат*, kelishiladi, kelishamiz, kelishuv*, договорн*, dogovorn*, negotiabl*, торг*,
    torg*
STARS: yulduz*, юлдуз*, звезд*, zvezd*, star, stars, xtr
TOPUP: to'ldir*, toldir*, тўлдир*, пополн*, popoln*, "top up", "top-up", topup, recharg*
RETURN: vozvrat*, возврат*, refund*, qaytar*, қайтар*, kaitar*, qaytadi*, қайтади*, qaytmadi, қайтмади,
    qaytmay*, вернут*, верните, верни, вернёт*, вернет*, вернул*, vernut*, vernite, verni, vernet*,
    vernul*, return*, "money back", "stars back", back
AGAIN: qayta, қайта, kaita, qaytadan, қайтадан, qaytib, қайтиб, "qayta-qayta", takror*, такрор*, снова,
    опять, заново, snova, opiat, zanovo, again, повтор*, povtor*, переопубл*, pereopubl*, repost*,
    reappear*
PROMOTE: "ko'proq odam*", "ko'p odam*", "больше людей", "bolshe liudei", "more people", "more views",
    "больше просмотров", reklam*, реклам*, продви*, prodvi*, promot*, boost*, закреп*, zakrep*, pin,
    pinned, pinning, qada*, қада*, "tepaga chiqar*", "tepaga ko'tar*", поднять, подним*, podniat*,
    podnim*, ko'tar*, кўтар*, kotar*, "birinchi o'rin*", "birinchi orin*", "on top", сверху, sverhu,
    top, vip, тепага
REJECT: rad, "rad et*", отклон*, otklon*, отказ, отказа, отказе, отказал*, отказан*, otkaz, declin*,
    reject*, refus*, "не одобр*", "ne odobr*", "не пропуст*", "ne propust*", "не пропуск*", "не прошл*",
    "ne proshl*", "o'tmadi", "otmadi", "qabul qilinmadi", "qabul qilishmadi", "qabul qilmadi",
    "not approved"
APPROVE: tasdiq*, тасдиқ*, одобр*, odobr*, approv*
ACCEPT: qabul*, қабул*, принима*, принял*, принят*, принимает, prinima*, prinial*, priniat*, accept*
MODERATION: moderac*, moderaz*, moderatsiya*, moderation*, модерац*, tekshiruv*, tekshirilm*,
    tekshiril*, проверк*, проверя*, proverk*, proveria*, review*, pending, "ko'rib chiq*"
CHECK: tekshir*, текшир*, проверит*, проверь*, proverit*, proveri*, en:check*
EDIT: tahrir*, таҳрир*, o'zgartir*, ўзгартир*, ozgartir*, almashtir*, алмаштир*, tuzat*, тузат*,
    редакт*, redakt*, измен*, izmen*, поменя*, pomenia*, pomeni*, замен*, zamen*, исправ*, isprav*,
    edit*, chang*, modif*, updat*, fix, fixing, correct*, "xato ket*"
SWITCH: переключ*, perekliuch*, смени*, сменит*, smeni*, smenit*, switch*, transfer*, переве*, perevesti
MISTAKE: xato*, хато*, ошибк*, ошибоч*, oshibk*, oshiboch*, mistak*, typo*, error*, случайно, sluchaino,
    adashib*, адашиб*, adash*
DELETE: "o'chirib tashla*", "ochirib tashla*", o'chir*, ўчир*, ochir*, удал*, udal*, убра*, убер*,
    ubra*, uber*, снять, сниму, снимите, снима*, sniat, snimu, snimite, snima*, delet*, remov*,
    "take down", "olib tashla*", "bekor qil*", cancel*, отмен*, otmen*, "o'chib ket*"
DISABLE: перестал*, perestal*, перестан*, perestan*, stop, stopped, stops, "to'xtat*", "тўхтат*",
    tohtat*, отключ*, otkliuch*, выключ*, vikliuch*, "turn off", disabl*, mute*, "o'chirib qo'y*",
    "ochirib qoy*"
BLOCK: blok*, блок*, заблок*, zablok*, разблок*, razblok*, ban, bani, бан, бана, забан*, zaban*, block*,
    unblock*
APPEAL: "blokdan chiqar*", "blokdan oching*", appeal*, обжал*, objal*, "ochib ber*", "очиб бер*",
    разбан*, razban*
ADMIN: moderator*, модератор*, admin*, админ*, administrator*
OPERATOR: operator*, оператор*, "live agent", agent*, жонли, jonli, живой, живым, живого, живому, jivoi,
    jivim, jivomu, human*, real, реальн*, realn*, позови*, позвать, pozovi*, pozvat, chaqir*
PERSON: person, persons, people, человек*, chelovek*, odam, odamga, odamni, odamlar*, одам*
SUPPORT: yordam*, ёрдам*, поддержк*, podderjk*, support*, help*, помоги*, помочь, pomogi*, pomoch,
    qo'llab, "qo'llab-quvvatlash", quvvatla*, kuvatla*
TALK: gaplash*, гаплаш*, говори*, поговори*, govori*, pogovori*, talk*, speak*, сўзлаш*
HOURS: soat*, соат*, час, часа, часов, часы, часам, chas, chasa, chasov, chasi, hour*, "ish vaqt*",
    "ish tartib*", "рабочее время", "часы работы", "режим работы", "график работы", grafik*, график*,
    schedul*, "opening hours", "working hours", "до скольки", "do skolki", "soat nechagacha",
    nechagacha, open, opens, opening, close, closes, closing
OFFHOURS: kechasi, kechqurun, tunda, ночью, ночь, nochiu, noch, night*, weekend*, выходн*, vihodn*,
    "dam olish*", voskresen*, воскресен*, yakshanba*, shanba*, суббот*, subbot*, sunday*, saturday*,
    holiday*, bayram*, праздник*, prazdnik*
USE: ishlat*, ишлат*, использ*, ispolz*
WORK: ishla*, ишла*, работ*, rabot*, work*, functio*
ANSWER: "javob ber*", javob*, жавоб*, отвеч*, ответ*, otvech*, otvet*, answer*, repl*, respond*,
    respons*
BUTTON: menyu*, меню, meniu, menu*, tugma*, тугма*, knopk*, кнопк*, knop*, button*
STUCK: "qotib qol*", "қотиб қол*", qotib, qotdi, qotyapti, завис*, zavis*, stuck, freez*, frozen, hang*,
    hangs, glitch*, tormoz*, тормоз*, lag, lagging, "nothing happens", "hech narsa bo'lmay*",
    "ничего не происходит", "do nothing"
START: start*, старт*, restart*
SCAM: firib*, фириб*, мошен*, moshen*, scam*, fraud*, кидал*, kidal*, кинул*, kinul*, alda*, алда*,
    обман*, obman*, развод*, razvod*, "pulni olib", aferist*, аферист*, cheat*
SAFE: xavfsiz*, ҳавфсиз*, хавфсиз*, ehtiyot*, эҳтиёт*, безопасн*, bezopasn*, safe*, safety, ishon*,
    ишон*, довер*, dover*, trust*, nadejn*, надежн*, надёжн*, tips, "нормально ли", "normalno li"
CODE: sms*, смс*, kod*, код*, code*, parolini
COMPLAIN: shikoyat*, шикоят*, жалоб*, jalob*, пожалова*, pojalova*, complain*, complaint*, report*,
    "xabar ber*", "хабар бер*", "kimga ayt*", "кимга айт*", "кому сообщить", "komu soobshit",
    "куда писать", "kuda pisat"
FAKE: soxta*, сохта*, shubhali*, шубҳали*, фейк*, feik*, fake*, поддел*, poddel*, подозрит*, podozrit*,
    suspic*
BLOCK+FORBIDDEN: banned, baned
FORBIDDEN: taqiq*, тақиқ*, "mumkin emas", "мумкин эмас", "ruxsat etilmagan", "ruxsat yo'q", запрещ*,
    zapresh*, нельзя, nelzia, nelzya, forbid*, prohibit*, "not allowed", "not permitted", illegal*
ALLOW: ruxsat*, рухсат*, разреш*, razresh*, allow*, permit*, ruxsatnoma*
RULES: qoida*, қоида*, правил*, pravil*, rule, rules, policy, "terms of"
GOODS_RESTRICTED: qurol*, қурол*, оруж*, oruj*, weapon*, gun, guns, miltiq*, miltig*, милтиқ*, милтиғ*,
    ружь*, ruje*, pistolet*, пистолет*, dori, dorilar*, dorini, дори, лекарств*, lekarstv*, medicin*,
    medicat*, drug, drugs, таблетк*, tabletk*, pill*, narkot*, наркот*, spirt*, спирт*, alkog*, алког*,
    alcohol*, vino, вино, wine, pivo, пиво, beer, aroq, ароқ, водк*, vodk*, ichimlik*, ичимлик*,
    tamaki*, тамаки*, табак*, tabak*, tobacco*, sigaret*, сигарет*, cigarett*, vape*, vaip*, вейп*,
    veip*, kalyan*, кальян*, hookah*, "elektron sigaret*"
CATEGORY: kategor*, категор*, categor*, рубрик*, rubrik*, rukn*, рукн*
SECTION: bo'lim*, бўлим*, bolim*, раздел*, razdel*, section*
LOCATION: mestopoloj*, местополож*, tuman*, туман*, rayon*, район*, raion*, district*, manzil*, манзил*,
    адрес*, adres*, address*, location*, lokac*, локац*, joylashuv*, жойлашув*, mahalla*, маҳалла*,
    village*, qishloq*, қишлоқ*, село, sela, derevn*, деревн*, город*, gorod*, shahar*, шаҳар*, city,
    town, area
REGION: viloyat*, вилоят*, область, областей, области, oblast*, region*, регион*, hudud*, ҳудуд*
PLACENAME: o'zbekiston*, ozbekiston*, uzbekistan*, узбекистан*, ўзбекистон*, toshkent*, тошкент*,
    ташкент*, tashkent*, samarqand*, самарқанд*, самарканд*, samarkand*, farg'ona*, фарғона*, фергана*,
    фергане, fergan*, fargona*, namangan*, наманган*, andijon*, андижон*, андижан*, andijan*, buxoro*,
    бухоро*, бухар*, bukhar*, buhar*, xorazm*, хоразм*, хорезм*, khorezm*, horezm*, qashqadaryo*,
    кашкадар*, qarshi*, карши*, surxondaryo*, сурхандар*, termiz*, термез*, jizzax*, джизак*, jizzak*,
    sirdaryo*, сырдар*, guliston*, navoiy*, навои*, navoi*, nukus*, нукус*, qoraqalpog*, каракалпак*,
    karakalpak*, chilonzor*, чилонзор*, чиланзар*, yunusobod*, юнусобод*, юнусабад*, yangihayot*,
    sergeli*, сергели*, yakkasaroy*, mirobod*, olmazor*
PHONE: telefon*, телефон*, phone*, tel, mobil*, мобил*
NUMBER: raqam*, рақам*, номер*, nomer*, number*
HIDE: yashir*, яшир*, скры*, скрою, skri*, skroi*, hide, hiding, hidden, privacy, private, maxfiy*,
    махфий*, конфиденц*, konfidenc*, светить, svetit, anonim*, аноним*
SEE: viden, vidna, vidni, vidn*, vidim*, ko'r*, кўр*, kor, korin*, korsam, korsat*, смотр*, smotr*,
    посмотр*, posmotr*, видно, вижу, видят, видел*, видит*, vidno, viju, vidiat, videl*, vidit*, see,
    seen, sees, visible, visibl*, show, shows, shown, showing
FIND: topa, topib, topdim, topmadim, topilmadi, topolm*, topaman, topish*, topilm*, найти, нахожу,
    найду, найдут, нашел, нашёл, naiti, nahoju, naidu, nashel, find*, search*, locate*, поиск*, poisk*,
    izla*, излa*
NOTFOUND: "not found", "не найден*", "ne naiden*", topilmadi, "yo'q ekan", "kanalda yo'q",
    "в канале нет", "v kanale net", пусто, pusto, empty, broken, "message not found", ochilmayapti,
    ochilmadi, "не открыва*", "ne otkriva*", "doesnt open", "won't open", "wont open"
EXPIRE: muddat*, муддат*, просроч*, prosroch*, истек*, istek*, istok*, срок*, srok*, expir*,
    "vaqti o'tgan", archiv*, архив*
RESTORE: reactivat*, reaktiv*, восстанов*, vostanov*, vosstanov*, restor*, renew*, tikla*, тикла*,
    "qayta faollash*", "qayta yoq*", faollash*, активир*, aktivir*, activat*
ASK: so'ra*, сўра*, sora*, спрашива*, спроси*, sprashiva*, sprosi*, ask, asks, asking, asked, savol*,
    савол*, вопрос*, vopros*, question*
EVERY: "how often", "как часто", "kak chasto", "qanchalik tez*", tez-tez, "tez tez", "har qancha*", har,
    ҳар, каждые, каждый, каждую, каждое, каждый, kajdie, kajdii, kajduiu, kajdoe, every, each
ONCE: "bir marta", "бир марта", "один раз", "odin raz", once, "only once"
TIMES_COUNT: marta, марта, раза, raza, times, "3 раза", "uch marta", "три раза", "three times", twice
QUEUE: navbat*, навбат*, очеред*, ochered*, queue*, turn
MINUTES: daqiqa*, дақиқа*, минут*, minut*, minute*, min, mins
OLD: eski, эски, старый, старого, старом, старая, старое, starii, staroe, staraia, starogo, old, older
LIST: ro'yxat, ro'yxati, ro'yxatini, ro'yxatdan, рўйхатдан, royxati, royxatini, рўйхати, список, spisok,
    "list of", "mening e'lonlarim", "мои объявления", "my ads", "my listings", hammasi, "hamma e'lon*"
STATUS: holat*, ҳолат*, статус*, status*, этап*, etap*, stage*, stadi*
LANGUAGE: til, tili, tilni, tilga, tilini, tilda, tilde, тил*, язык*, iazik*, yazik*, yazyk*, language*,
    lang
LANGNAME: rus, ruscha, rusch*, rusga, русча, русский, русском, русскую, по-русски, russkii, russkom,
    russkui, "po russki", russian, o'zbek*, ўзбек*, ozbek*, uzbek*, узбек*, узбекск*, uzbeksk*,
    "po uzbekski", ingliz*, инглиз*, англ*, angl*, english, anglii*, eng
DONE: bajar*, бажар*, выполн*, vipoln*, complet*, done, finished, сделал*, sdelal*
MARK: belgila*, белгила*, belgi, belgisi, belgini, отмет*, otmet*, помет*, pomet*, mark, marked, marking
APPEAR: появ*, poiav*, poyav*, appear*, "show up", "shows up", "showing up", "shown up", chiqdi,
    chiqyapti, chiqadi, chiqmadi, chiqmayapti, chiqmaydi, chiqmagan, chiqqan, chiqib, вышл*, вышел,
    выходит, выйдет, vishl*, vishel, vihodit, viidet
REASON: sabab*, сабаб*, причин*, prichin*, reason*
OTHER: boshqa*, бошқа*, другой, другого, другом, другие, других, другим, другую, другое, drugih, drugim,
    drugoi, drugogo, drugom, drugie, druguiu, drugoe, other, others, another, else
SET: qo'yaman, qo'yay, qo'ysam, qo'yamiz, ukaz*, укаж*, указ*, ukaj*, set, setting, specify*, indicat*,
    tanla*, танла*, выбр*, выбир*, vibr*, vibir*, choos*, chose, chosen, select*
FIT: mos, mosi, mosini, "mos kel*", подход*, podhod*, fit, fits, suitabl*
ITEM: mashina*, машин*, avto, авто, avtomobil*, автомобил*, car, cars, velosiped*, велосипед*, bike,
    bicycle, divan*, диван*, sofa, muzlatgich*, холодильник*, holodilnik*, fridge, noutbuk*, ноутбук*,
    laptop*, kompyuter*, компьютер*, computer*, televizor*, телевизор*, kvartira*, квартир*, apartment*,
    mebel*, мебел*, furniture, kiyim*, одежд*, clothes, narsa*, нарса*, buyum*, буюм*, tovar*, товар*,
    mahsulot*, маҳсулот*, item*, product*, вещ*, vesh, veshi, veshch*, thing, things, stuff
SAFE: "stay safe", "не попаст*", "ne popast*"
FORGOT: unut*, унут*, забыл*, забуд*, zabil*, zabud*, forgot*, forget*
PRESS: bos, bosa*, bosdim, bosib, bosish*, bossam, bosam, босс*, нажа*, нажм*, нажим*, naja*, najm*,
    najim*, press*, tap, tapped, tapping, click*, klik*, клик*
ANSWER+NEG: ignor*, игнор*
-: "birinchi marta", "биринчи марта", "первый раз", "в первый раз", "pervii raz", "first time",
    "hours ago", "hour ago", "days ago", "soatdan beri", "kundan beri", "часа назад", "часов назад",
    "дня назад", "дней назад", "deb xabar keldi", "degan xabar keldi", "menda yo'q", "менда йўқ",
    "u menia net", "у меня нет", "i dont have", "i have no", "xabar keldi", "xabar kelyapti",
    "xabar kelibdi", "deb xabar", "degan xabar", "бот написал", "бот пишет", "bot napisal",
    "bot pishet", "bot says", "bot said", "bot is saying", "napisali chto", "написали что", "пишет что",
    "pishet chto", "says that", "deyapti"
MESSAGE+ARRIVE+NEG: "xabar kelmay*", "xabar kelmadi", "xabar kelmagan"
TELEGRAM: telegram*, телеграм*, telegramm*, телеграмм*, tg, тг
RECEIPT: uz:chek, uz:cheki, uz:chekni, ru:чек, ru:чека, ru:чеки, receipt*, kvitan*, квитанц*, invoice*
INSTALLMENT: "bo'lib to'la*", "bo'lib-bo'lib", nasiya*, насия*, рассрочк*, rasrochk*, rassrochk*,
    installment*, kredit*, кредит*
LOST: yo'qot*, йўқот*, "yo'qolib qol*", yo'qoldi, потерял*, poteral*, потеря*, poteria*, lost, lose,
    losing
NAME: ism, ismi, ismim*, ismni, ismini, имя, имени, imia, imeni, name, names, username*, nickname*, nik,
    ник, никнейм*, familiya*, фамили*
JOB: vakans*, вакан*, job, jobs, hire, hiring, "ishga ol*", "ishga kir*", "ishga odam", ishga,
    "взять на работу", "возьмите меня", "vozmite menia", "на работу", "na rabotu", rezyume*, резюме
CONTACT_US: "your phone*", "your number", "your contact*", "ваш номер", "ваш телефон", "ваши контакты",
    "vash nomer", "vash telefon", raqamingiz, telefoningiz, "sizning raqam*", "sizning telefon*"
"""

# Concepts that say little about what a question is about: they weigh less, and a question
# matched on these alone is never answered at once.
WEAK_CONCEPTS = """
AD POST USE DAY TIME WHEN HOWMANY PERSON SEE NEW OTHER SET ITEM MONEY PLACENAME SUPPORT BUY PHONE
"""

# Words that carry no topic in any of the three languages: greetings, thanks, pronouns,
# particles, auxiliaries, question words. The matcher drops them (they would only add noise).
STOPWORDS = """
salom assalomu assalom alaykum aleykum salam privet привет здравствуйте zdravstvuite zdravstvuyte hello
hi hey dobrii добрый доброе dobroe utro утро вечер hayrli xayrli rahmat раҳмат raxmat rahmet спасибо
spasibo spasiba thanks thank thx bolshoe большое katta iltimos илтимос пожалуйста pojaluista pozhaluysta
pls plz please va ва bu бу shu шу u у men мен meni мени menga менга mening менинг menda менда meniki
o'zim ўзим sen сен siz сиз sizlar сизлар sizlarda сизларда sizga sizni sizning sizlarga biz биз bizga
bizning ular улар uni уни unga унга ularning ularni ularga buni бuni bunga shuni shunga o'sha ўша usha
bilan билан uchun учун ham ҳам lekin лекин ammo аммо yoki ёки agar агар esa эса edi эди edim ekan экан
emish deb деб dedi degan деган deyapti деяпти deyishyapti shekilli шекилли balki haqida ҳақида orqali
орқали bo'yicha бўйича kabi каби chi чи -chi kerak керак kerakmi керакми mumkin мумкин mumkinmi мумкинми
bormi борми bor бор qanday қандай qanaqa қанақа nima нима nimaga нимага nega нега nimadan nimani nimalar
qayer қаер qayerda қаерда qayerdan қаердан qayerga қаерга kim ким kimga kimni kimning qaysi қайси juda
жуда endi энди hozir ҳозир yana яна hamma ҳамма hammasi hammasini ҳаммаси ҳаммасини barcha faqat фақат
xolos холос bir бир ikki икки uch уч birinchi albatta shunchaki allaqachon ertaga эртага ertalab кечаги
kecha кеча keyin кейин so'ng сўнг tez oldin олдин avval аввал xop хоп ok okay ок ха ha yaxshi яхши
yaxshimisiz яхшимисиз yaxshimisizlar aka ака opa опа bratan братан brat брат ukam qil қил qilay қилай
qilaman қиламан qilasiz qiladi қилади qilamiz qildim қилдим qildi qildingiz qilding qilyapman қиляпман
qilyapti qilgan qilganman qilib қилиб qilish қилиш qilishim qilishga qilsam қилсам qilsa қилса qilsak
qilsangiz qiling qilinadi қилинади qilindi qilingan qilmoqchi qilmoqchiman bo'ladi бўлади bo'ladimi
бўладими bo'lsa бўлса bo'lsin bo'ldi бўлди bo'lgan bo'lib bo'lyapti bo'lmoqchi bo'lmoqchiman bo'laman
bo'lasiz bo'lishi bo'lish бўлиш etdi etadi etish etib etgan etibdi etishdi etishibdi olaman оламан olish
olib olsam olsa oldim oldi olgan olamanmi qo'yib qo'yibman qo'yibdi qo'ydim qo'yishibdi qo'yishdi
qo'ygan bergan berganman ketsam ketdi кетди bersa bering beraman berasiz berish bilsam sifatida shuning
шунинг kandaidir қандайдир bunaqa бунақа erda yerda tushundim tushunmadim i и v в vo во na на s с so со
k к ko ко o о ob об ot от do до po по za за iz из a а no но ili или da да to то eto это etot этот eta
эта eti эти tot тот ta та te те kak как chto что shto што chtobi чтобы chtob gde где pochemu почему
zachem зачем kuda куда kto кто ia я mne мне menia меня moi мой moia моя moe моё мое moego моего moiu мою
moim моим moei моей moih svoi свой svoiu свою svoe своё svoego svoei svoim vi вы vas вас vam вам vash
ваш vashem vashei ti ты tebia тебя tebe тебе on он ona она oni они ego его ee её ih их emu ему ei ей nim
ним nei ней uje уже vse все всё vsio vsego vseh esli если mojno можно nado надо nujno нужно nujen нужен
hochu хочу hotel хотел hotela хотела hotim хотим bi бы li ли je же tut тут zdes здесь tam там sebia себя
sebe себе takoe такое tak так chem чем takoi такой kakoi какой kakaia какая kakie какие kakuiu какую
kakom каком kakih est есть bil был bila была bilo было bili были budet будет mi мы nas нас nam нам nash
наш nashem mogu могу mojet может mojete можете poluchit получить poluchil получил poluchila teper теперь
cherez через posle после chego чего nachat dela дела delat делать sdelat сделать delaiu делаю poniatno
понятно nibud нибудь vobshe вообще odin один odno одно odnom одном odna одна dva два tri три tojе toje
тоже togo того stalo стало bez без nego него nee нее prosto просто ochen очень vot вот nu ну pro про pri
при dlia для podskajite подскажите skajite скажите the an of in at for with from by about into through
during before after above below under over between against is are was were be been being am does did
doing done have has had having can could would should will shall may might must how what whats why where
who whom which this that these those there here and or but if because as until while than too very also
it its itself me my mine myself you your yours yourself we our ours us they them their theirs he she his
her him just get got gets getting want wanted wants wanna need needs needed let lets know knew think
like make made use used try trying tried tell told go going goes went come comes came take took put give
gave keep keeps kept seem look looking happen happens happened say says said saying any some something
anything someone anyone every everything still already even ever really actually maybe sure yes yeah yep
ya im ive id youre thats theres one ones thing things way same both each few more most such own then now
later soon yesterday tomorrow morning evening tonight ago since week month year instead rather per dan
ancha анча hali ҳали reshil решил решила ostavit оставить tu ту first second third fourth fifth ikkinchi
uchinchi to'rtinchi beshinchi второй третий четвертый четвёртый пятый vtoroi tretii chetvertii piatii
only onli только tolko qoldi qolib qolibman qoldim qolgan yoqib yoqdi keldi kelyapti keladi kelgan
kelibdi просит просят попросил prosit prosiat poprosil нормально normalno точный точно точного tochnii
tochno достаточно dostatochno vesh вещь lot lots much
"""

# Words that negate what follows (Russian, English, Uzbek particles). Uzbek verbs negated by
# -ma- are recognised by their shape in normalize.negated.
NEGATORS = """
ne не net нет ni ни nikak никак nikogda никогда not never nope none nothing dont didnt doesnt isnt arent
wasnt werent hasnt havent hadnt cant cannot wont wouldnt couldnt shouldnt aint yo'q йўқ yoq emas эмас
hech ҳеч ничего nichego ничто nichto
"""

# Roots that only look like a negated Uzbek verb: kamaydi (it decreased), not kam-ma-ydi.
NOT_NEGATIVE = """
kamay камай tamay tomosha hamma ҳамма summa
"""

# Endings the stemmer strips, longest first, in any of the three languages (written naturally).
SUFFIXES = """
larimizni laringizni larimiz laringiz larini larida laridan lariga larim laring lari lar imizni ingizni
imiz ingiz imni imga imda imdan ning ni ga ka qa da ta dan tan dagi gacha sini siga sida si im ing
moqchiman moqchimiz moqchi moq ishim ishni ishga ish ganman ganmi gan yapman yapmiz yapsiz yapti yotgan
yotibdi ibdi ibman ib dim ding dik dingiz dimi di sam sak sang sa man miz siz mi adi aman asiz ydi yman
ysiz ladi lash lan tir dir gin sin chi ovanie ovaniya eniye enie eniya enii eniem ami yami ah yah ov ev
om em oy ey ogo ego omu emu aya yaya oye oe ee ie ii iye ykh ih imi yu ya at yat it et ut yut la lo li
sya ing ed es s ly er ers ment ments
"""


def concepts() -> Iterator[tuple[tuple[str, ...], list[str]]]:
    """(concept ids, patterns) for each entry of CONCEPTS (an indented line continues the one above)."""
    for line in re.sub(r"\n\s+", " ", CONCEPTS.strip()).splitlines():
        names, _, patterns = line.partition(":")
        parts = [p.strip().strip('"') for p in patterns.split(",")]
        concepts = tuple(n for n in names.strip().split("+") if n != "-")
        yield concepts, [p for p in parts if p]
